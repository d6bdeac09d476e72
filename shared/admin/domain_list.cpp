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
// certificate by (expires_at, created_at, id) from certificates_newest_expiry_idx, then those
// without one by (created_at, id) from domains_newest_idx. The current certificate is the one
// not superseded: the newest by (created_at, id), kept so by certificates_mark_newest.
enum class ListStretch { WithCertificate, WithoutCertificate };

// The ORDER BY columns of a page's last row: the next page starts after it.
struct ListCursor {
    long long expiresAtMicros = 0;  // WithCertificate only
    long long createdAtMicros = 0;
    std::string id;
};

// A timestamptz from `placeholder`, microseconds since 1970: exact, as in listPage.
std::string fromMicros(const std::string& placeholder) {
    std::string sql = "('epoch'::timestamptz + ";
    sql += placeholder;
    sql += "::bigint * interval '1 microsecond')";
    return sql;
}

// One page. One statement text per kind of page (a status or not, an expiry bound or not,
// first or later) with no condition a parameter switches off, so that every plan of it, the
// plan cache's generic one too, starts its index scan at the cursor (as listPage does).
SqlRows readListPage(Poco::Data::Session& session, ListStretch stretch,
                     const std::string& status, bool expiryBound, Poco::Int64 withinMs,
                     const std::optional<ListCursor>& after) {
    std::vector<SqlValue> params;
    auto parameter = [&params](SqlValue value) {
        params.push_back(std::move(value));
        std::string placeholder = "$";
        placeholder += std::to_string(params.size());
        return placeholder;
    };
    const bool withCertificate = stretch == ListStretch::WithCertificate;
    std::string sql;
    if (withCertificate)
        sql = "SELECT d.id, d.domain_name, d.status, c.expires_at, c.renew_at, d.created_at "
              "FROM certificates c JOIN domains d ON d.id = c.domain_id "
              "WHERE c.superseded_at IS NULL";
    else
        sql = "SELECT d.id, d.domain_name, d.status, NULL::timestamptz AS expires_at, "
              "NULL::timestamptz AS renew_at, d.created_at FROM domains d "
              "WHERE NOT EXISTS (SELECT 1 FROM certificates c WHERE c.domain_id = d.id "
              "AND c.superseded_at IS NULL)";
    if (!status.empty()) {
        sql += " AND d.status = ";
        sql += parameter(status);
    }
    if (expiryBound && withCertificate) {
        sql += " AND c.expires_at < now() + ";
        sql += parameter(withinMs);
        sql += "::bigint * interval '1 millisecond'";
    }
    if (after) {
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
    sql += withCertificate ? " ORDER BY c.expires_at, d.created_at, d.id"
                           : " ORDER BY d.created_at, d.id";
    sql += " LIMIT ";
    sql += std::to_string(kListPageRows);
    return runSql(session, sql, params, SqlResults::Binary);
}

}  // namespace

void forEachDomainSummary(Database& database, const std::string& status,
                          std::optional<std::chrono::milliseconds> expiringWithin,
                          const std::function<void(const DomainSummary&)>& each) {
    // Two plain values, not an optional: GCC 12 -O2 sees the optional's value as maybe unset.
    const bool expiryBound = expiringWithin.has_value();
    const Poco::Int64 withinMs = expiryBound ? expiringWithin->count() : 0;
    for (const ListStretch stretch :
         {ListStretch::WithCertificate, ListStretch::WithoutCertificate}) {
        // An expiry bound leaves out every domain without a certificate.
        if (stretch == ListStretch::WithoutCertificate && expiryBound) break;
        std::optional<ListCursor> after;
        for (;;) {
            const SqlRows rows = database.withSession([&](Poco::Data::Session& session) {
                return readListPage(session, stretch, status, expiryBound, withinMs, after);
            });
            for (int row = 0; row < rows.size(); ++row)
                each(DomainSummary{rows.text(row, "id"), rows.text(row, "domain_name"),
                                   rows.text(row, "status"),
                                   rows.rfc3339(row, "expires_at").value_or(""),
                                   rows.rfc3339(row, "renew_at").value_or("")});
            if (rows.size() < kListPageRows) break;
            const int last = rows.size() - 1;
            after = ListCursor{stretch == ListStretch::WithCertificate
                                   ? rows.unixMicros(last, "expires_at")
                                   : 0,
                               rows.unixMicros(last, "created_at"), rows.text(last, "id")};
        }
    }
}

}  // namespace dnsh
