//! `winback sample`: a realistic synthetic salon and spa bookings export, for demos, tests and
//! benchmarks.
//!
//! Every client has their own rhythm in each category they use (log-normal gaps around a
//! personal interval, some very regular, some not), a preferred stylist and location, and a
//! chance of leaving after each visit that is higher for new clients, after a bad visit and
//! after a price rise. Some drift (their gaps lengthen before they stop). Bookings are
//! cancelled or missed now and then; many active clients hold a future booking. The same seed
//! always gives the same file.

use std::io::Write;

use jiff::civil::Date;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, LogNormal};
use shared::domain::day::Day;

/// What the sample covers.
#[derive(Debug, Clone)]
pub struct SampleSpec {
    pub clients: u32,
    pub seed: u64,
    /// The export's "today": visits before it, future bookings after it.
    pub as_of: Date,
    /// Years of history before `as_of`.
    pub years: u32,
}

struct Service {
    name: &'static str,
    price_cents: i64,
}

struct CategorySpec {
    name: &'static str,
    /// Share of clients who use this category.
    uptake: f64,
    /// Typical interval in days, and how much clients differ around it (sd, log scale).
    typical_days: f64,
    between_sd: f64,
    services: &'static [Service],
}

const CATEGORIES: &[CategorySpec] = &[
    CategorySpec {
        name: "Hair",
        uptake: 0.72,
        typical_days: 42.0,
        between_sd: 0.3,
        services: &[
            Service {
                name: "Women's cut",
                price_cents: 6500,
            },
            Service {
                name: "Men's cut",
                price_cents: 3500,
            },
            Service {
                name: "Cut & blow-dry",
                price_cents: 7500,
            },
        ],
    },
    CategorySpec {
        name: "Colour",
        uptake: 0.3,
        typical_days: 63.0,
        between_sd: 0.3,
        services: &[
            Service {
                name: "Root touch-up",
                price_cents: 8000,
            },
            Service {
                name: "Full colour",
                price_cents: 12000,
            },
            Service {
                name: "Balayage",
                price_cents: 19500,
            },
        ],
    },
    CategorySpec {
        name: "Nails",
        uptake: 0.28,
        typical_days: 21.0,
        between_sd: 0.3,
        services: &[
            Service {
                name: "Gel manicure",
                price_cents: 4500,
            },
            Service {
                name: "Pedicure",
                price_cents: 5000,
            },
        ],
    },
    CategorySpec {
        name: "Massage",
        uptake: 0.18,
        typical_days: 45.0,
        between_sd: 0.45,
        services: &[
            Service {
                name: "Swedish massage 60 min",
                price_cents: 9000,
            },
            Service {
                name: "Deep tissue 60 min",
                price_cents: 10500,
            },
        ],
    },
    CategorySpec {
        name: "Facial",
        uptake: 0.14,
        typical_days: 40.0,
        between_sd: 0.35,
        services: &[
            Service {
                name: "Classic facial",
                price_cents: 8500,
            },
            Service {
                name: "Hydrating facial",
                price_cents: 9900,
            },
        ],
    },
];

const STAFF: &[&str] = &[
    "Alex", "Sam", "Jordan", "Priya", "Mateo", "Chloe", "Noah", "Aisha", "Lena", "Kai",
];
const LOCATIONS: &[&str] = &["downtown", "riverside"];
const FIRST_NAMES: &[&str] = &[
    "Olivia", "Liam", "Emma", "Noah", "Ava", "Elijah", "Sophia", "James", "Mia", "Lucas", "Amelia",
    "Mason", "Harper", "Ethan", "Evelyn", "Aiden", "Zoe", "Omar", "Fatima", "Hiro", "Ana", "Marco",
    "Ines", "Yara",
];
const LAST_NAMES: &[&str] = &[
    "Smith", "Johnson", "Garcia", "Brown", "Lee", "Martinez", "Davis", "Lopez", "Wilson", "Nguyen",
    "Khan", "Patel", "Kim", "Rossi", "Silva", "Novak", "Dubois", "Sato", "Okafor", "Cohen",
];

/// The share of each service's price rise at the rise date.
const PRICE_RISE: f64 = 0.12;

/// Writes the export, returning the number of rows.
pub fn write_sample(spec: &SampleSpec, out: impl Write) -> std::io::Result<u64> {
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record([
        "client_id",
        "client_name",
        "email",
        "phone",
        "occurred_at",
        "status",
        "service_category",
        "service",
        "amount",
        "currency",
        "staff",
        "location_id",
        "rating",
    ])?;
    let mut rows = 0_u64;
    for client in sample_clients(spec) {
        for row in &client.visits {
            row.write(&client.plan, &mut writer)?;
            rows += 1;
        }
    }
    writer.flush()?;
    Ok(rows)
}

/// One client of the sample business, with their bookings in time order.
pub struct SampleClient {
    plan: ClientPlan,
    visits: Vec<Row>,
}

/// One booking of a sample client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampleBooking {
    pub day: Day,
    /// Minutes after midnight, local time.
    pub minute: u32,
    /// `completed`, `cancelled`, `no_show` or `booked`.
    pub status: &'static str,
    pub category: &'static str,
    pub service: &'static str,
    pub price_cents: i64,
}

impl SampleClient {
    pub fn id(&self) -> &str {
        &self.plan.id
    }

    pub fn name(&self) -> &str {
        &self.plan.name
    }

    pub fn email(&self) -> &str {
        &self.plan.email
    }

    pub fn phone(&self) -> &str {
        &self.plan.phone
    }

    pub fn staff(&self) -> &'static str {
        self.plan.staff
    }

    pub fn location(&self) -> &'static str {
        self.plan.location
    }

    pub fn bookings(&self) -> impl Iterator<Item = SampleBooking> + '_ {
        self.visits.iter().map(|row| {
            let category = &CATEGORIES[row.category];
            SampleBooking {
                day: row.day,
                minute: row.minute,
                status: row.status,
                category: category.name,
                service: category.services[row.service].name,
                price_cents: row.price,
            }
        })
    }
}

/// The sample's clients one by one, as the export lists them.
pub fn sample_clients(spec: &SampleSpec) -> impl Iterator<Item = SampleClient> + '_ {
    let mut rng = StdRng::seed_from_u64(spec.seed);
    let end = Day::from(spec.as_of);
    let start = end.plus_days(-(365 * spec.years as i32));
    // A price rise two-thirds of the way through the history.
    let rise_day = start.plus_days(end.days_since(start) * 2 / 3);
    (0..spec.clients).map(move |n| {
        let plan = ClientPlan::draw(n, start, end, &mut rng);
        let mut visits = Vec::new();
        plan.simulate(end, rise_day, &mut rng, &mut visits);
        visits.sort_by_key(|r| (r.day, r.minute, r.category));
        SampleClient { plan, visits }
    })
}

struct ClientPlan {
    id: String,
    name: String,
    email: String,
    phone: String,
    joined: Day,
    staff: &'static str,
    location: &'static str,
    /// Chance of leaving after each visit once past the first few.
    base_stop: f64,
    /// Gaps grow by this factor per visit (1.0 for most clients).
    drift: f64,
    categories: Vec<(usize, f64, f64)>,
}

impl ClientPlan {
    fn draw(n: u32, start: Day, end: Day, rng: &mut StdRng) -> ClientPlan {
        let first = FIRST_NAMES[rng.random_range(0..FIRST_NAMES.len())];
        let last = LAST_NAMES[rng.random_range(0..LAST_NAMES.len())];
        // Client sign-ups are spread over the history, a little denser recently.
        let span = end.days_since(start);
        let joined = start.plus_days((span as f64 * rng.random::<f64>().powf(0.8)) as i32);
        let mut categories = Vec::new();
        for (c, spec) in CATEGORIES.iter().enumerate() {
            if rng.random::<f64>() < spec.uptake {
                categories.push(Self::rhythm(c, rng));
            }
        }
        if categories.is_empty() {
            categories.push(Self::rhythm(0, rng));
        }
        ClientPlan {
            id: format!("C{:07}", n + 1),
            name: format!("{first} {last}"),
            email: format!(
                "{}.{}{}@example.com",
                first.to_lowercase(),
                last.to_lowercase(),
                n + 1
            ),
            phone: format!("+1555{:07}", n % 10_000_000),
            joined,
            staff: STAFF[rng.random_range(0..STAFF.len())],
            location: LOCATIONS[usize::from(rng.random::<f64>() < 0.35)],
            base_stop: 0.01 + 0.06 * rng.random::<f64>().powi(2),
            drift: if rng.random::<f64>() < 0.1 {
                1.12 + 0.1 * rng.random::<f64>()
            } else {
                1.0
            },
            categories,
        }
    }

    /// A personal interval and regularity for category `c`.
    fn rhythm(c: usize, rng: &mut StdRng) -> (usize, f64, f64) {
        let spec = &CATEGORIES[c];
        let interval = LogNormal::new(spec.typical_days.ln(), spec.between_sd)
            .expect("valid parameters")
            .sample(rng);
        let regularity = 0.08 + 0.3 * rng.random::<f64>().powi(2);
        (c, interval.clamp(7.0, 365.0), regularity)
    }

    fn simulate(&self, end: Day, rise_day: Day, rng: &mut StdRng, out: &mut Vec<Row>) {
        // One-time visitors: a quarter of new clients never come back after the first visit.
        let one_timer = rng.random::<f64>() < 0.25;
        let mut stopped = false;
        let mut visit_count = 0_u32;
        // Next due day per category, drawn from each rhythm.
        let mut next: Vec<Day> = self
            .categories
            .iter()
            .map(|&(_, interval, _)| {
                self.joined
                    .plus_days((rng.random::<f64>() * interval * 0.5) as i32)
            })
            .collect();
        let mut gap_scale = vec![1.0_f64; self.categories.len()];
        let horizon = end.plus_days(120);
        loop {
            let (k, &day) = next
                .iter()
                .enumerate()
                .min_by_key(|(_, d)| **d)
                .expect("at least one category");
            if day > horizon || (stopped && day <= end) {
                break;
            }
            let (c, interval, regularity) = self.categories[k];
            let category = &CATEGORIES[c];
            let service = rng.random_range(0..category.services.len());
            let minute = rng.random_range(9 * 60..19 * 60) / 15 * 15;
            let price = price_on(category.services[service].price_cents, day, rise_day);
            let booking = |status, rating| Row {
                day,
                minute,
                category: c,
                service,
                price,
                status,
                rating,
            };
            if day > end {
                // After the export's day: the clients who pre-book hold a booking.
                if !stopped && day <= end.plus_days(60) && rng.random::<f64>() < 0.55 {
                    out.push(booking("booked", None));
                }
                next[k] = horizon.plus_days(1);
                continue;
            }
            // Now and then a booking falls through before the real visit.
            let roll = rng.random::<f64>();
            if roll < 0.05 {
                out.push(booking("cancelled", None));
                next[k] = day.plus_days(rng.random_range(2..10));
                continue;
            }
            if roll < 0.08 {
                out.push(booking("no_show", None));
                next[k] = day.plus_days(rng.random_range(3..21));
                continue;
            }
            let rating = (rng.random::<f64>() < 0.3).then(|| {
                if rng.random::<f64>() < 0.06 {
                    rng.random_range(1..=2)
                } else {
                    rng.random_range(4..=5)
                }
            });
            out.push(booking("completed", rating));
            visit_count += 1;
            // A colour client often has a cut in the same visit.
            if c == 1
                && let Some(h) = self.categories.iter().position(|(cat, _, _)| *cat == 0)
                && next[h].days_since(day).abs() < 10
            {
                out.push(Row {
                    day,
                    minute,
                    category: 0,
                    service: 0,
                    price: price_on(CATEGORIES[0].services[0].price_cents, day, rise_day),
                    status: "completed",
                    rating: None,
                });
                next[h] = day.plus_days(gap(self.categories[h].1, self.categories[h].2, rng));
            }

            let mut stop = self.base_stop;
            if visit_count == 1 && one_timer {
                stop = 1.0;
            } else if visit_count <= 2 {
                stop += 0.15;
            }
            if rating.is_some_and(|r| r <= 2) {
                stop += 0.45;
            }
            if day < rise_day && day.plus_days(interval as i32) >= rise_day {
                stop += 0.12;
            }
            if rng.random::<f64>() < stop {
                stopped = true;
                continue;
            }
            gap_scale[k] *= self.drift;
            next[k] = day.plus_days(
                (f64::from(gap(interval, regularity, rng)) * gap_scale[k]).round() as i32,
            );
        }
    }
}

fn gap(interval: f64, regularity: f64, rng: &mut StdRng) -> i32 {
    let g = LogNormal::new(interval.ln(), regularity)
        .expect("valid parameters")
        .sample(rng);
    (g.round() as i32).max(1)
}

fn price_on(list_cents: i64, day: Day, rise_day: Day) -> i64 {
    if day >= rise_day {
        ((list_cents as f64 * (1.0 + PRICE_RISE)) / 100.0).round() as i64 * 100
    } else {
        list_cents
    }
}

struct Row {
    day: Day,
    minute: u32,
    category: usize,
    service: usize,
    price: i64,
    status: &'static str,
    rating: Option<u8>,
}

impl Row {
    fn write<W: Write>(
        &self,
        client: &ClientPlan,
        writer: &mut csv::Writer<W>,
    ) -> std::io::Result<()> {
        let category = &CATEGORIES[self.category];
        let occurred = format!(
            "{} {:02}:{:02}",
            self.day,
            self.minute / 60,
            self.minute % 60
        );
        let amount = format!("{}.{:02}", self.price / 100, self.price % 100);
        let rating = self.rating.map(|r| r.to_string()).unwrap_or_default();
        writer.write_record([
            client.id.as_str(),
            client.name.as_str(),
            client.email.as_str(),
            client.phone.as_str(),
            occurred.as_str(),
            self.status,
            category.name,
            category.services[self.service].name,
            amount.as_str(),
            "USD",
            client.staff,
            client.location,
            rating.as_str(),
        ])?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(clients: u32, seed: u64) -> String {
        let spec = SampleSpec {
            clients,
            seed,
            as_of: jiff::civil::date(2026, 11, 1),
            years: 3,
        };
        let mut out = Vec::new();
        write_sample(&spec, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn the_same_seed_gives_the_same_export() {
        assert_eq!(sample(50, 7), sample(50, 7));
        assert_ne!(sample(50, 7), sample(50, 8));
    }

    #[test]
    fn the_sample_has_every_kind_of_row_a_real_export_has() {
        let text = sample(300, 1);
        for needle in [
            ",completed,",
            ",cancelled,",
            ",no_show,",
            ",booked,",
            ",Hair,",
            ",Colour,",
            ",Nails,",
        ] {
            assert!(text.contains(needle), "no {needle} row");
        }
        assert!(text.lines().count() > 300 * 5);
    }
}
