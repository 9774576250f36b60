//! The canonical fields of a bookings export, the spellings real tools give them, and the
//! map from a file's header to them.

use std::fmt;

use super::*;

/// A column of the canonical bookings export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    ClientId,
    OccurredAt,
    ServiceCategory,
    Amount,
    Status,
    Service,
    LocationId,
    Staff,
    Currency,
    Email,
    Phone,
    Rating,
    ClientName,
}

impl Field {
    /// In resolution order: a header claimed by an earlier field is not offered to a later one,
    /// so "Customer" is the client id unless a better id column exists, and then it is the name.
    pub const ALL: [Field; 13] = [
        Field::ClientId,
        Field::OccurredAt,
        Field::ServiceCategory,
        Field::Amount,
        Field::Status,
        Field::Service,
        Field::LocationId,
        Field::Staff,
        Field::Currency,
        Field::Email,
        Field::Phone,
        Field::Rating,
        Field::ClientName,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Field::ClientId => "client_id",
            Field::OccurredAt => "occurred_at",
            Field::ServiceCategory => "service_category",
            Field::Amount => "amount",
            Field::Status => "status",
            Field::Service => "service",
            Field::LocationId => "location_id",
            Field::Staff => "staff",
            Field::Currency => "currency",
            Field::Email => "email",
            Field::Phone => "phone",
            Field::Rating => "rating",
            Field::ClientName => "client_name",
        }
    }

    pub fn is_required(self) -> bool {
        matches!(
            self,
            Field::ClientId | Field::OccurredAt | Field::ServiceCategory
        )
    }

    pub fn from_name(name: &str) -> Option<Field> {
        let key = normalise_header(name);
        Field::ALL
            .into_iter()
            .find(|f| normalise_header(f.name()) == key)
    }

    /// Header spellings recognised for this field, best first, in normalised form (lower case,
    /// letters and digits only).
    pub(super) fn aliases(self) -> &'static [&'static str] {
        match self {
            Field::ClientId => &[
                "clientid",
                "customerid",
                "clientnumber",
                "customernumber",
                "guestid",
                "patientid",
                "memberid",
                "contactid",
                "accountid",
                "userid",
                "clientref",
                "customerref",
                "client",
                "customer",
                "guest",
                "patient",
                "member",
            ],
            Field::OccurredAt => &[
                "occurredat",
                "date",
                "datetime",
                "appointmentdate",
                "appointmentdatetime",
                "appointmentstart",
                "appointmenttime",
                "startdate",
                "starttime",
                "startsat",
                "startdatetime",
                "start",
                "bookingdate",
                "visitdate",
                "servicedate",
                "dateofservice",
                "scheduledat",
                "scheduledfor",
                "time",
            ],
            Field::ServiceCategory => &[
                "servicecategory",
                "category",
                "servicetype",
                "servicegroup",
                "treatmentcategory",
                "treatmenttype",
                "department",
                "type",
                "kind",
                "group",
            ],
            Field::Amount => &[
                "amount",
                "total",
                "totalprice",
                "totalamount",
                "amountpaid",
                "price",
                "serviceprice",
                "paid",
                "revenue",
                "value",
                "sales",
                "netsales",
                "grosssales",
                "net",
                "gross",
                "subtotal",
                "charge",
                "fee",
            ],
            Field::Status => &[
                "status",
                "appointmentstatus",
                "bookingstatus",
                "visitstatus",
                "state",
            ],
            Field::Service => &[
                "service",
                "servicename",
                "treatment",
                "treatmentname",
                "servicetitle",
                "item",
                "itemname",
                "product",
                "description",
            ],
            Field::LocationId => &[
                "locationid",
                "location",
                "branchid",
                "branch",
                "siteid",
                "site",
                "storeid",
                "store",
                "salon",
                "clinic",
                "venue",
                "shop",
            ],
            Field::Staff => &[
                "staff",
                "staffname",
                "staffmember",
                "stylist",
                "provider",
                "employee",
                "practitioner",
                "therapist",
                "technician",
                "teammember",
                "professional",
                "barber",
                "artist",
                "clinician",
                "resource",
            ],
            Field::Currency => &["currency", "currencycode"],
            Field::Email => &[
                "email",
                "emailaddress",
                "clientemail",
                "customeremail",
                "mail",
            ],
            Field::Phone => &[
                "phone",
                "phonenumber",
                "mobile",
                "mobilephone",
                "mobilenumber",
                "cell",
                "cellphone",
                "telephone",
                "tel",
                "clientphone",
                "customerphone",
            ],
            Field::Rating => &[
                "rating",
                "stars",
                "reviewrating",
                "reviewscore",
                "review",
                "satisfaction",
                "score",
            ],
            Field::ClientName => &[
                "clientname",
                "customername",
                "guestname",
                "patientname",
                "membername",
                "fullname",
                "name",
                "client",
                "customer",
                "guest",
                "patient",
            ],
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

pub(super) fn normalise_header(header: &str) -> String {
    header
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Parses `canonical=Header` as given on a command line.
pub fn parse_mapping(text: &str) -> Result<(Field, String), ExportError> {
    let (field, header) = text
        .split_once('=')
        .ok_or_else(|| ExportError::BadMapping(text.to_owned()))?;
    let field = Field::from_name(field).ok_or_else(|| {
        ExportError::UnknownField(
            field.trim().to_owned(),
            Field::ALL.map(Field::name).join(", "),
        )
    })?;
    let header = header.trim().trim_matches('"').to_owned();
    if header.is_empty() {
        return Err(ExportError::BadMapping(text.to_owned()));
    }
    Ok((field, header))
}

/// Which column holds each field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnMap {
    pub(super) columns: [Option<usize>; Field::ALL.len()],
    /// The fields that have a column, with it.
    pub(super) mapped: Vec<(Field, usize)>,
    pub(super) headers: Vec<String>,
}

impl ColumnMap {
    pub fn resolve(
        headers: &[String],
        mappings: &[(Field, String)],
    ) -> Result<ColumnMap, ExportError> {
        let found = || {
            headers
                .iter()
                .map(|h| format!("\"{h}\""))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut columns = [None; Field::ALL.len()];
        let mut taken = vec![false; headers.len()];
        for (field, wanted) in mappings {
            let index = headers
                .iter()
                .position(|h| h.trim() == wanted.trim())
                .or_else(|| {
                    headers
                        .iter()
                        .position(|h| h.trim().eq_ignore_ascii_case(wanted.trim()))
                })
                .or_else(|| {
                    headers
                        .iter()
                        .position(|h| normalise_header(h) == normalise_header(wanted))
                })
                .ok_or_else(|| ExportError::MappedHeaderMissing {
                    field: field.name(),
                    header: wanted.clone(),
                    found: found(),
                })?;
            columns[slot(*field)] = Some(index);
            taken[index] = true;
        }
        let normalised: Vec<String> = headers.iter().map(|h| normalise_header(h)).collect();
        for field in Field::ALL {
            if columns[slot(field)].is_some() {
                continue;
            }
            let best = field.aliases().iter().find_map(|alias| {
                (0..headers.len()).find(|&i| !taken[i] && normalised[i] == *alias)
            });
            if let Some(index) = best {
                columns[slot(field)] = Some(index);
                taken[index] = true;
            }
        }
        let missing: Vec<Field> = Field::ALL
            .into_iter()
            .filter(|f| f.is_required() && columns[slot(*f)].is_none())
            .collect();
        if let Some(first) = missing.first() {
            let unclaimed = (0..headers.len())
                .find(|&i| !taken[i])
                .map(|i| headers[i].clone());
            return Err(ExportError::MissingColumns {
                missing: missing
                    .iter()
                    .map(|f| f.name())
                    .collect::<Vec<_>>()
                    .join(" and "),
                found: if headers.is_empty() {
                    "none".into()
                } else {
                    found()
                },
                example: first.name(),
                example_header: unclaimed.unwrap_or_else(|| "Your Header".into()),
            });
        }
        let mapped = Field::ALL
            .into_iter()
            .filter_map(|f| columns[slot(f)].map(|c| (f, c)))
            .collect();
        Ok(ColumnMap {
            columns,
            mapped,
            headers: headers.to_vec(),
        })
    }

    pub fn column(&self, field: Field) -> Option<usize> {
        self.columns[slot(field)]
    }

    pub fn mapped(&self) -> &[(Field, usize)] {
        &self.mapped
    }

    /// The header read for a field, for telling the user how their file was understood.
    pub fn header(&self, field: Field) -> Option<&str> {
        self.column(field).map(|i| self.headers[i].as_str())
    }
}

/// A field's place in `Field::ALL`: the enum is declared in that order.
pub(super) fn slot(field: Field) -> usize {
    field as usize
}
