#pragma once
// Who asks for an issue order, which decides the wait before a retry that holds (issue_start).

namespace dnsh {

// A client (POST /domains/{id}/issue-certificate) waits out the backoff after failed orders; an
// operator (dnsh-admin retry) skips it, having fixed the cause with the customer. The wait
// after a CA's rate limit on a domain with no failure in a row holds for both: asking sooner
// only earns another refusal (OrderStore::claimIssue).
enum class IssueRequester { Client, Operator };

}  // namespace dnsh
