#pragma once
// The transactional outbox (README "Webhooks"): an event row written in the same transaction as the
// state change it reports, so an event exists exactly when its change committed. The scheduler
// delivers the rows (events/webhook_delivery.hpp). With WEBHOOK_URL empty nothing is written.
#include <Poco/Data/Session.h>

#include <string>

#include "config/config.hpp"
#include "core/failure_code.hpp"
#include "domain/event_type.hpp"

namespace dnsh {

// Every program that changes domains calls this at start with its Config (WEBHOOK_URL,
// DELEGATION_ZONE); until then no event is written.
void configureOutbox(const Config& config);

// Writes `type` for the domain with its view as this transaction sees it now (for
// domain.deleted: call it before the DELETE). Locks the domain's row first, so a domain's events
// are numbered in the order their transactions commit. Nothing when webhooks are off or the
// domain is gone.
void recordDomainEvent(Poco::Data::Session& session, EventType type, const std::string& domainId);

// After a renewal order's challenges were stored: renewal.action_required when the customer must
// publish them (a renewal, not delegated, waiting for DNS).
void recordRenewalActionRequired(Poco::Data::Session& session, const std::string& orderId);

// A failed renewal order's event: delegation.lost for its own error code, else renewal.failed.
EventType renewalFailureEvent(FailureCode code);

}  // namespace dnsh
