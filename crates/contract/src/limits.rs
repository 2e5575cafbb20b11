//! Limits the upstream API imposes (DESIGN §1). One place, so the client that must stay under
//! them and the simulator that rejects requests beyond them can never disagree.

/// Largest `limit` query parameter the API accepts (records per page).
pub const MAX_PAGE_LIMIT: u32 = 100;

/// Largest `offset` query parameter the API accepts. With page-index offsets this means at most
/// `MAX_PAGE_OFFSET + 1` pages per (startDate, endDate) query.
pub const MAX_PAGE_OFFSET: u32 = 10;

/// Most records one (startDate, endDate) query can ever return in page-offset mode:
/// 11 pages of 100. A window whose last allowed page is full is saturated and must be split.
pub const MAX_RECORDS_PER_QUERY: u32 = (MAX_PAGE_OFFSET + 1) * MAX_PAGE_LIMIT;

/// Longest span between `startDate` and `endDate`, in days.
pub const MAX_QUERY_SPAN_DAYS: i64 = 7;

/// Format of `startDate` / `endDate` in the request body, local time in `timeZoneOffset`.
pub const REQUEST_DATE_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// Path of the two equivalent endpoints, after `https://{host}`; `{account}` is the account id.
pub const ENDPOINT_PATH_TEMPLATE: &str =
    "/agentassist/api/public/analytics/account/{account}/v2/{endpoint}";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saturation_point_is_eleven_pages_of_a_hundred() {
        assert_eq!(MAX_RECORDS_PER_QUERY, 1_100);
    }
}
