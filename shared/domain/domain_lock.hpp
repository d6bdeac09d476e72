#pragma once
// The first lock of every transaction that writes more than one row of a domain.
#include <Poco/Data/Session.h>

#include <string>

namespace dnsh {

// One lock order for every transaction that writes more than one row of a domain: the domain's
// row first (FOR NO KEY UPDATE: it does not block the key-share locks of foreign keys), then its
// orders, challenges, certificates and view. DELETE /domains/{id} takes the domain row first too
// (its cascade reaches the rest after it), so a delete and a scheduler write on one domain queue
// on that row instead of each holding what the other needs next (issue 18 #9). False when the
// domain is gone (deleted): its orders went with it.
bool lockDomain(Poco::Data::Session& session, const std::string& domainId);

// The first lock of the transaction deleting a domain: FOR UPDATE, the lock its DELETE takes.
// Holding lockDomain's weaker one, the DELETE would wait for any key-share lock (a foreign key's)
// another transaction took on the row meanwhile. False when the domain is gone.
bool lockDomainToDelete(Poco::Data::Session& session, const std::string& domainId);

}  // namespace dnsh
