#include "issuance/order_store_sql.hpp"

#include "domain/check_times.hpp"

namespace dnsh::order_sql {

SqlRows runGuarded(Poco::Data::Session& session, const std::string& orderId,
                   const std::string& sql, const std::vector<SqlValue>& params) {
    SqlRows rows = runSql(session, sql, params);
    if (rows.affected() == 0) throw LeaseLost(orderId);
    return rows;
}

bool lockDomainOfOrder(Poco::Data::Session& session, const std::string& orderId) {
    return !runSql(session,
                   "SELECT d.id FROM acme_orders o JOIN domains d ON d.id = o.domain_id "
                   "WHERE o.id = $1 FOR NO KEY UPDATE OF d",
                   {orderId})
                .empty();
}

bool lockDomainOfCertificate(Poco::Data::Session& session, const std::string& certificateId) {
    return !runSql(session,
                   "SELECT d.id FROM certificates c JOIN domains d ON d.id = c.domain_id "
                   "WHERE c.id = $1 FOR NO KEY UPDATE OF d",
                   {certificateId})
                .empty();
}

void insertChallenges(Poco::Data::Session& session, const std::string& orderId,
                      const std::vector<OrderChallenge>& challenges) {
    for (const auto& challenge : challenges)
        runSql(session,
               "INSERT INTO acme_challenges (order_id, authorization_url, challenge_url, "
               "token, txt_name, txt_value, method, identifier) "
               "VALUES ($1, $2, $3, $4, $5, $6, $7, nullif($8, ''))",
               {orderId, challenge.authorizationUrl, challenge.challengeUrl, challenge.token,
                challenge.txtName, challenge.txtValue, toString(challenge.method),
                challenge.identifier});
}

void recordValidation(Poco::Data::Session& session, const std::string& orderId,
                      const PlacedOrder& placed) {
    runSql(session,
           "UPDATE domains d SET validation_method = $2, persist_check = coalesce(" +
               checkWithTimesSql("$3") + ", d.persist_check) FROM acme_orders o "
               "WHERE o.id = $1 AND d.id = o.domain_id",
           {orderId, toString(placed.validationMethod()), placed.persistCheck});
}

}  // namespace dnsh::order_sql
