#pragma once
// SQL shared by the parts of OrderStore (order_store.cpp: the queue and a step's writes;
// order_store_issue.cpp: the account and issue-certificate's claim; order_store_scans.cpp: the
// renewal and renewalInfo scans). Not for use outside them.
#include <Poco/Data/Session.h>

#include <string>
#include <vector>

#include "db/sql.hpp"
#include "domain/domain_lock.hpp"
#include "issuance/order_store.hpp"

namespace dnsh::order_sql {

inline constexpr const char* kLive = kLiveOrderStatusesSql;

// Runs a statement whose WHERE clause names the lease owner: no row means not ours.
SqlRows runGuarded(Poco::Data::Session& session, const std::string& orderId,
                   const std::string& sql, const std::vector<SqlValue>& params);

// The domain's row first (domain/domain_lock.hpp: the one lock order).
using dnsh::lockDomain;

// The same, for a write that knows the order only.
bool lockDomainOfOrder(Poco::Data::Session& session, const std::string& orderId);

// The same, for a write that knows the certificate only (recordAri). The certificate itself is
// read, not locked: the write that follows locks it, after the domain.
bool lockDomainOfCertificate(Poco::Data::Session& session, const std::string& certificateId);

void insertChallenges(Poco::Data::Session& session, const std::string& orderId,
                      const std::vector<OrderChallenge>& challenges);

// The domain's validation_method (of its latest order) and, when a dns-persist-01 record was
// looked up while placing it, that check (domains.persist_check), as the domain view shows them.
void recordValidation(Poco::Data::Session& session, const std::string& orderId,
                      const PlacedOrder& placed);

}  // namespace dnsh::order_sql
