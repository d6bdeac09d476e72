#include "issuance/ari_refresh.hpp"

#include "core/error.hpp"
#include "db/server_state.hpp"
#include "db/sql.hpp"
#include "domain/domain_name.hpp"
#include "issuance/renewal_info.hpp"
#include "log/log.hpp"

namespace dnsh {

namespace {

constexpr int kCertificatesPerPage = 200;

// Answers in a row not stored for contention after which the run takes it for the table's, not
// one row's: a migration building an index without CONCURRENTLY, an operator's LOCK TABLE or a
// long ALTER makes every store wait out DB_LOCK_TIMEOUT, and the run went on asking the CA about
// every certificate (thousands during a mass revocation) to throw the answers away. One or two
// in a row are rows' own (a deadlock with a renewal being stored): those certificates' alone.
// Counted per CA (one refreshAriForAll call): a run stops at most two answers later than it
// would counting across them.
constexpr int kContendedAnswersInARowToStop = 3;

// One certificate's result, and whether the CA is to be asked nothing more in this run, or no
// CA anything more (the database's own failure, thrown once the result is reported).
struct Asked {
    AriRefreshed refreshed;
    bool putsOffTheCa = false;
    std::optional<Error> endsTheRun = std::nullopt;
    bool contended = false;  // NotRecorded for its rows' contention (rowContention)
};

// A CA that is down is not a CA without renewalInfo: the operator is told which CA and why.
// Bounded: the CA's own text in the error is cut where it is parsed (acme/problem.hpp), the
// rest is ours and the directory URL the operator's.
std::string directoryNotRead(const acme::Client& client, const acme::AcmeError& error) {
    std::string detail = "the CA at ";
    detail += client.directoryUrl();
    detail += error.unreachable() ? " is unreachable" : " did not give its directory";
    detail += " (";
    detail += acme::toString(acme::ariErrorKind(error));
    detail += " error): ";
    detail += errorDetail(error);
    return detail;
}

// `storeSqlState`: the SQLSTATE of the statement that failed storing the answer, when one did.
Asked askNow(Database& database, acme::Client& client, std::chrono::milliseconds maxWait,
             const CurrentCertificate& current, std::string& storeSqlState) {
    Asked asked{AriRefreshed{current, AriRefreshOutcome::NotOffered, std::nullopt, ""}};
    AriRefreshed& refreshed = asked.refreshed;
    try {
        client.directory();  // kept once read; askRenewalInfo reads it too
    } catch (const acme::AcmeError& e) {
        // RFC 9773 §4.3.3: renew_at kept. Nothing is recorded: the scheduler's next fetch of
        // this certificate stands. Every other certificate of this CA needs the same directory.
        refreshed.outcome = AriRefreshOutcome::NotUsable;
        refreshed.detail = directoryNotRead(client, e);
        asked.putsOffTheCa = true;
        logEvent(LogLevel::Warn, "renewalInfo not asked: directory not read",
                 {{"certificate_id", current.certificate.certificateId},
                  {"detail", refreshed.detail}});
        return asked;
    }
    const auto advice = askRenewalInfo(client, current.certificate.leafPem, maxWait);
    if (!advice) return asked;
    const auto recorded = database.withSession([&](Poco::Data::Session& session) {
        try {
            return OrderStore(session).recordAri(current.certificate.certificateId,
                                                 advice->renewAtEpochMs, advice->nextFetchMs);
        } catch (const SqlError& e) {
            storeSqlState = e.sqlState();  // withSession still classifies it
            throw;
        }
    });
    if (recorded) refreshed.renewAtEpochMs = recorded->renewAtEpochMs;
    if (!advice->renewAtEpochMs) {
        refreshed.outcome = AriRefreshOutcome::NotUsable;
        refreshed.detail = advice->problem;
        asked.putsOffTheCa = advice->error && putsOffTheBatch(*advice->error);
    } else if (!recorded) {
        refreshed.outcome = AriRefreshOutcome::RenewalRunning;
    } else {
        // RFC 9773 §4.2 step 3: "If the selected time is in the past, attempt renewal
        // immediately": renew_at has come, and the scheduler's scan (every second) starts it.
        // Come by the database's clock, which that scan reads, not this host's: an admin host
        // minutes ahead said "due now" of a renewal a minute away.
        refreshed.outcome = recorded->due ? AriRefreshOutcome::DueNow
                                          : AriRefreshOutcome::Scheduled;
        refreshed.beforeCaWindow = advice->windowTooLate;
    }
    logEvent(LogLevel::Debug, "renewalInfo refreshed",
             {{"domain_id", current.domainId},
              {"certificate_id", current.certificate.certificateId},
              {"outcome", std::string(toString(refreshed.outcome))}});
    return asked;
}

// refreshAriForAll's failure to store an answer: PostgreSQL refused the statement, whatever
// else failed (a lost connection may have committed it: not said to be not stored).
bool answerRefused(const Error& error, const std::string& storeSqlState) {
    return error.fromDatabase() && !storeSqlState.empty();
}

// refreshAriForAll: an answer not stored (rolled back whole) is reported as NotRecorded. One
// row's contention (a lock timeout, a deadlock PostgreSQL broke with a renewal being stored) is
// that certificate's: the rest are still asked (refreshAriForAll stops after three in a row).
// The database's own failure (a full disk, no memory, a read-only server, a statement past
// DB_STATEMENT_TIMEOUT) ends the run once it is reported: every answer after it would be asked
// of the CA and thrown away, thousands of requests during a mass revocation. So does a lost
// database, unreported.
Asked askOrReport(Database& database, acme::Client& client, std::chrono::milliseconds maxWait,
                  const CurrentCertificate& current) {
    std::string storeSqlState;
    try {
        return askNow(database, client, maxWait, current, storeSqlState);
    } catch (const Error& e) {
        if (!answerRefused(e, storeSqlState)) throw;
        Asked asked{AriRefreshed{current, AriRefreshOutcome::NotRecorded, std::nullopt,
                                 e.what()}};
        if (rowContention(storeSqlState))
            asked.contended = true;
        else
            asked.endsTheRun = e;
        return asked;
    }
}

// The error that ends a run whose last `inARow` answers met contention, the last one `last`.
Error heldByAnotherTransaction(int inARow, const AriRefreshed& last) {
    return Error(ErrorCode::DatabaseTimeout,
                 std::to_string(inARow) +
                     " answers in a row could not be stored: rows or the table held by another "
                     "transaction (the last: " +
                     last.detail + ")");
}

}  // namespace

AriRefreshed refreshAriNow(Database& database, acme::Client& client,
                           std::chrono::milliseconds maxWait, const CurrentCertificate& current) {
    std::string storeSqlState;
    return askNow(database, client, maxWait, current, storeSqlState).refreshed;
}

AriRefreshed refreshAriForDomain(Database& database, const ClientOfCa& clientOf,
                                 std::chrono::milliseconds maxWait, const std::string& domainId) {
    if (!isDomainId(domainId))
        throw Error(ErrorCode::NotFound, "domain " + domainId + " not found");
    const auto current = database.withSession([&](Poco::Data::Session& session) {
        return OrderStore(session).currentCertificate(domainId);
    });
    if (!current) {
        const bool exists = database.withSession([&](Poco::Data::Session& session) {
            return !runSql(session, "SELECT 1 FROM domains WHERE id = $1", {domainId}).empty();
        });
        if (!exists) throw Error(ErrorCode::NotFound, "domain " + domainId + " not found");
        throw Error(ErrorCode::BadRequest, "domain " + domainId + " has no certificate yet");
    }
    acme::Client* client = clientOf(current->certificate.caDirectory);
    if (client == nullptr)
        throw Error(ErrorCode::BadRequest,
                    "the CA that issued domain " + domainId + "'s certificate (" +
                        current->certificate.caDirectory + ") is no longer configured");
    return refreshAriNow(database, *client, maxWait, *current);
}

int refreshAriForAll(Database& database, acme::Client& client, const std::string& directoryUrl,
                     std::chrono::milliseconds maxWait,
                     const std::function<void(const AriRefreshed&)>& each) {
    int reported = 0;
    std::string after;
    // The result that put the CA off, as the scheduler's batch is (refreshRenewalInfo): a CA
    // that is down is not asked about 1,000 certificates, one timeout each.
    std::optional<AriRefreshed> putOff;
    int contendedInARow = 0;  // any other result, an answer stored included, resets it
    for (;;) {
        const auto page = database.withSession([&](Poco::Data::Session& session) {
            return OrderStore(session).currentCertificates(directoryUrl, after,
                                                           kCertificatesPerPage);
        });
        for (const auto& current : page) {
            if (putOff) {
                // Its own detail says it was not asked, and why: another certificate's answer.
                std::string detail = "not asked: ";
                detail += putOff->detail;
                each(AriRefreshed{current, putOff->outcome, std::nullopt, detail});
            } else {
                const Asked asked = askOrReport(database, client, maxWait, current);
                if (asked.putsOffTheCa) putOff = asked.refreshed;
                contendedInARow = asked.contended ? contendedInARow + 1 : 0;
                each(asked.refreshed);
                if (asked.endsTheRun) throw Error(*asked.endsTheRun);
                if (contendedInARow == kContendedAnswersInARowToStop)
                    throw heldByAnotherTransaction(contendedInARow, asked.refreshed);
            }
            ++reported;
        }
        if (page.size() < static_cast<std::size_t>(kCertificatesPerPage)) return reported;
        after = page.back().domainId;
    }
}

}  // namespace dnsh
