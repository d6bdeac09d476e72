#include "admin/domain_list.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "db/sql.hpp"

namespace dnsh {

namespace {

// Rows per page of the list: one statement each, one page held in memory at a time.
constexpr int kListPageRows = 1000;

// The list in two stretches, each walked by key along an index: the domains with a current
// certificate by (expires_at, created_at, id) from certificates_newest_expiry_idx (or
// certificates_newest_long_lived_expiry_idx, 029), then those without one by (created_at, id)
// from domains_newest_idx. The current certificate is the one not superseded: the newest by
// (created_at, id), kept so by certificates_mark_newest. The failing renewals, alone, are a
// third: by domain_id from certificates_newest_failing_idx (007); one current certificate per
// domain (certificates_current_idx), so the domain id alone is the key.
enum class ListStretch { WithCertificate, WithoutCertificate, RenewalFailing };

// The ORDER BY columns of a page's last row: the next page starts after it.
struct ListCursor {
    long long expiresAtMicros = 0;  // WithCertificate only
    long long createdAtMicros = 0;  // not RenewalFailing
    std::string id;
};

// The filter as the statements take it. Two plain values for the expiry bound, not an optional:
// GCC 12 -O2 sees the optional's value as maybe unset.
struct PageFilter {
    std::string status;
    bool expiryBound = false;
    Poco::Int64 withinMs = 0;
    bool longLived = false;
};

// A timestamptz from `placeholder`, microseconds since 1970: exact, as in listPage.
std::string fromMicros(const std::string& placeholder) {
    std::string sql = "('epoch'::timestamptz + ";
    sql += placeholder;
    sql += "::bigint * interval '1 microsecond')";
    return sql;
}

// One page. One statement text per kind of page (a status or not, an expiry bound or not, a
// lifetime bound or not, first or later) with no condition a parameter switches off, so that
// every plan of it, the plan cache's generic one too, starts its index scan at the cursor (as
// listPage does).
SqlRows readListPage(Poco::Data::Session& session, ListStretch stretch, const PageFilter& filter,
                     const std::optional<ListCursor>& after) {
    std::vector<SqlValue> params;
    auto parameter = [&params](SqlValue value) {
        params.push_back(std::move(value));
        std::string placeholder = "$";
        placeholder += std::to_string(params.size());
        return placeholder;
    };
    const bool withCertificate = stretch != ListStretch::WithoutCertificate;
    std::string sql;
    if (withCertificate)
        // The failed renewal as the domain view shows it (domain_views, kept by triggers): one
        // primary-key read per row.
        sql = "SELECT d.id, d.domain_name, d.status, c.expires_at, c.renew_at, d.created_at, "
              "v.renewal_error, v.renewal_error_code "
              "FROM certificates c JOIN domains d ON d.id = c.domain_id "
              "LEFT JOIN domain_views v ON v.domain_id = d.id "
              "WHERE c.superseded_at IS NULL";
    else
        sql = "SELECT d.id, d.domain_name, d.status, NULL::timestamptz AS expires_at, "
              "NULL::timestamptz AS renew_at, d.created_at, NULL::text AS renewal_error, "
              "NULL::text AS renewal_error_code FROM domains d "
              "WHERE NOT EXISTS (SELECT 1 FROM certificates c WHERE c.domain_id = d.id "
              "AND c.superseded_at IS NULL)";
    // certificates_newest_failing_idx's predicate.
    if (stretch == ListStretch::RenewalFailing) sql += " AND c.renewal_failures > 0";
    if (!filter.status.empty()) {
        sql += " AND d.status = ";
        sql += parameter(filter.status);
    }
    if (filter.expiryBound && withCertificate) {
        sql += " AND c.expires_at < now() + ";
        sql += parameter(filter.withinMs);
        sql += "::bigint * interval '1 millisecond'";
    }
    // Word for word the predicate of certificates_newest_long_lived_expiry_idx (029), as
    // metrics/exposition.cpp counts them, so that the index can serve the walk.
    if (filter.longLived && withCertificate)
        sql += " AND c.expires_at - c.issued_at > interval '21 days'";
    if (after && stretch == ListStretch::RenewalFailing) {
        sql += " AND c.domain_id > ";
        sql += parameter(after->id);
    } else if (after) {
        std::string expiresAt;
        if (withCertificate) expiresAt = fromMicros(parameter(after->expiresAtMicros));
        const std::string createdAt = fromMicros(parameter(after->createdAtMicros));
        const std::string id = parameter(after->id);
        std::string rest = "(d.created_at, d.id) > (";
        rest += createdAt;
        rest += ", ";
        rest += id;
        rest += ")";
        if (withCertificate) {
            // The bound alone is what the index scan can start at.
            sql += " AND c.expires_at >= ";
            sql += expiresAt;
            sql += " AND (c.expires_at > ";
            sql += expiresAt;
            sql += " OR ";
            sql += rest;
            sql += ")";
        } else {
            sql += " AND ";
            sql += rest;
        }
    }
    if (stretch == ListStretch::RenewalFailing)
        sql += " ORDER BY c.domain_id";
    else
        sql += withCertificate ? " ORDER BY c.expires_at, d.created_at, d.id"
                               : " ORDER BY d.created_at, d.id";
    sql += " LIMIT ";
    sql += std::to_string(kListPageRows);
    return runSql(session, sql, params, SqlResults::Binary);
}

}  // namespace

void forEachDomainSummary(Database& database, const DomainListFilter& filter,
                          const std::function<void(const DomainSummary&)>& each) {
    PageFilter pageFilter;
    pageFilter.status = filter.status;
    pageFilter.expiryBound = filter.expiringWithin.has_value();
    pageFilter.withinMs = pageFilter.expiryBound ? filter.expiringWithin->count() : 0;
    pageFilter.longLived = filter.longLived;
    std::vector<ListStretch> stretches;
    if (filter.renewalFailing)
        stretches = {ListStretch::RenewalFailing};
    else if (pageFilter.expiryBound || filter.longLived)
        stretches = {ListStretch::WithCertificate};  // no certificate: no expiry, no lifetime
    else
        stretches = {ListStretch::WithCertificate, ListStretch::WithoutCertificate};
    for (const ListStretch stretch : stretches) {
        std::optional<ListCursor> after;
        for (;;) {
            const SqlRows rows = database.withSession([&](Poco::Data::Session& session) {
                return readListPage(session, stretch, pageFilter, after);
            });
            for (int row = 0; row < rows.size(); ++row)
                each(DomainSummary{rows.text(row, "id"), rows.text(row, "domain_name"),
                                   rows.text(row, "status"),
                                   rows.rfc3339(row, "expires_at").value_or(""),
                                   rows.rfc3339(row, "renew_at").value_or(""),
                                   rows.optionalText(row, "renewal_error"),
                                   rows.optionalText(row, "renewal_error_code")});
            if (rows.size() < kListPageRows) break;
            const int last = rows.size() - 1;
            ListCursor cursor;
            cursor.id = rows.text(last, "id");
            if (stretch == ListStretch::WithCertificate)
                cursor.expiresAtMicros = rows.unixMicros(last, "expires_at");
            if (stretch != ListStretch::RenewalFailing)
                cursor.createdAtMicros = rows.unixMicros(last, "created_at");
            after = cursor;
        }
    }
}

}  // namespace dnsh
