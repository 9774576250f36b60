//! Industry presets: the default return interval a business can pick and then tune, used for a
//! category until a client has enough visits for a personal interval and the business has
//! enough clients for its own.

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", try_from = "String")]
pub enum Industry {
    /// Salons and spas: 60–90 days.
    Salon,
    /// Restaurants and retail: 30–60 days.
    Retail,
    /// Home services: 6–12 months.
    HomeServices,
    /// Professional services: 12–18 months.
    ProfessionalServices,
    /// Dental recall: 6 months.
    Dental,
    /// Hearing-aid upgrades: 3–7 years.
    HearingAid,
}

impl Industry {
    pub const ALL: [Industry; 6] = [
        Industry::Salon,
        Industry::Retail,
        Industry::HomeServices,
        Industry::ProfessionalServices,
        Industry::Dental,
        Industry::HearingAid,
    ];

    /// The usual range of days between visits, from PRODUCT.md.
    pub fn interval_range_days(self) -> (u32, u32) {
        match self {
            Industry::Salon => (60, 90),
            Industry::Retail => (30, 60),
            Industry::HomeServices => (183, 365),
            Industry::ProfessionalServices => (365, 548),
            Industry::Dental => (183, 183),
            Industry::HearingAid => (1096, 2557),
        }
    }

    /// The preset's default interval: the middle of its range.
    pub fn default_interval_days(self) -> f64 {
        let (low, high) = self.interval_range_days();
        f64::from(low + high) / 2.0
    }

    pub fn name(self) -> &'static str {
        match self {
            Industry::Salon => "salon",
            Industry::Retail => "retail",
            Industry::HomeServices => "home_services",
            Industry::ProfessionalServices => "professional_services",
            Industry::Dental => "dental",
            Industry::HearingAid => "hearing_aid",
        }
    }
}

impl fmt::Display for Industry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "\"{0}\" is not an industry; use one of salon, spa, restaurant, retail, home_services, professional_services, dental, hearing_aid"
)]
pub struct UnknownIndustry(pub String);

impl TryFrom<String> for Industry {
    type Error = UnknownIndustry;
    fn try_from(text: String) -> Result<Industry, UnknownIndustry> {
        text.parse()
    }
}

impl FromStr for Industry {
    type Err = UnknownIndustry;
    fn from_str(text: &str) -> Result<Industry, UnknownIndustry> {
        Ok(
            match text
                .trim()
                .to_ascii_lowercase()
                .replace(['-', ' '], "_")
                .as_str()
            {
                "salon" | "spa" | "salon_spa" => Industry::Salon,
                "restaurant" | "retail" => Industry::Retail,
                "home_services" | "home" => Industry::HomeServices,
                "professional_services" | "professional" => Industry::ProfessionalServices,
                "dental" | "dentist" => Industry::Dental,
                "hearing_aid" | "hearing" | "audiology" => Industry::HearingAid,
                _ => return Err(UnknownIndustry(text.trim().to_owned())),
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn industry_presets_follow_the_product_ranges() {
        let within = |industry: Industry, low: f64, high: f64| {
            let days = industry.default_interval_days();
            assert!((low..=high).contains(&days), "{industry}: {days}");
        };
        within(Industry::Salon, 60.0, 90.0);
        within(Industry::Retail, 30.0, 60.0);
        within(Industry::HomeServices, 182.0, 366.0);
        within(Industry::ProfessionalServices, 365.0, 549.0);
        within(Industry::Dental, 180.0, 184.0);
        within(Industry::HearingAid, 3.0 * 365.0, 7.0 * 366.0);
    }

    #[test]
    fn spa_and_restaurant_are_names_for_their_presets() {
        assert_eq!("Spa".parse(), Ok(Industry::Salon));
        assert_eq!("restaurant".parse(), Ok(Industry::Retail));
        assert!("bakery".parse::<Industry>().is_err());
    }
}
