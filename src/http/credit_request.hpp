#pragma once

#include <string>
#include <string_view>

#include "common/result.hpp"
#include "domain/money.hpp"
#include "domain/time.hpp"

namespace costs::http {

// The body of POST /api/v1/billing/credits/{organization_id}, decoded.
struct CreditRequest {
  std::string id;
  domain::Nanos ecu = 0;  // exact
  domain::Instant start;  // inclusive, UTC
  domain::Instant end;    // exclusive, UTC
};

// Decodes {"id":"..","ecu":"12.5"|12.5,"start":"..","end":".."}: one JSON object; "id" a
// string; "ecu" a decimal string or JSON number, exact, at most 9 fractional digits, > 0;
// "start"/"end" RFC 3339 or a bare date (the start of that UTC day for "start", the end of it
// for "end"), start < end; no other member. Fails with kInvalidData naming every problem in
// `fields` ("id", "ecu", "start", "end", or the name of a member that is not a credit's; none
// when the body is not a JSON object).
// The id's format and the organization are the service's to check (AdminService::AddCredit).
Result<CreditRequest> DecodeCreditRequest(std::string_view body);

}  // namespace costs::http
