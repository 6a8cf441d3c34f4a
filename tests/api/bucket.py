"""Token-bucket checks that hold however slow the machine is.

A bucket of `burst` tokens refilled at `rate` tokens/s that starts full admits its first `burst`
requests, and by any moment t has admitted at most burst + rate × (t − t0) requests, t0 being a
moment before its first request. A test records when each request was sent and answered
(time.monotonic(), the clock costsd's limiter uses too), sends until the limit shows, and
checks those two facts: one slow request adds a token and so an admitted request, never a
failure. What a run proves shrinks as the run slows (a per-replica bucket is told apart from a
global one only while the run is faster than the tokens it would add), but it never fails a
correct server."""

import time


class BucketRun:
    """The requests sent to one bucket, in order: (response, sent_at, answered_at)."""

    def __init__(self, admitted=200, limited=429):
        self.admitted = admitted
        self.limited = limited
        self.requests = []

    def send(self, fn):
        """Sends one request (fn() returns the response) and records it."""
        sent = time.monotonic()
        resp = fn()
        self.requests.append((resp, sent, time.monotonic()))
        return resp

    def statuses(self):
        return [r.status for r, _, _ in self.requests]

    def problems(self, burst, rate):
        """Why these responses cannot come from a bucket of `burst` at `rate`/s that was full
        before the first request (empty list: they can)."""
        out = []
        statuses = self.statuses()
        unexpected = sorted({s for s in statuses if s not in (self.admitted, self.limited)})
        if unexpected:
            out.append("statuses other than %d and %d: %s" % (self.admitted, self.limited, unexpected))
        if statuses[:burst] != [self.admitted] * min(burst, len(statuses)):
            out.append("the first %d requests (the burst) must be admitted" % burst)
        if not self.requests:
            return out
        t0 = self.requests[0][1]
        admitted = 0
        for i, (resp, _, answered) in enumerate(self.requests):
            admitted += resp.status == self.admitted
            bound = burst + int(rate * (answered - t0))
            if admitted > bound:
                out.append("%d requests admitted by request %d, %.2f s after the first was sent: at most %d "
                           "(burst %d + %g/s)" % (admitted, i + 1, answered - t0, bound, burst, rate))
                break
        return out

    def describe(self):
        if not self.requests:
            return "(no requests)"
        t0 = self.requests[0][1]
        return ", ".join("%d@%.2fs" % (r.status, answered - t0) for r, _, answered in self.requests)


def until(predicate, send, guard_requests=400, guard_seconds=60.0):
    """Calls send() until predicate() holds; False if a guard ran out first."""
    deadline = time.monotonic() + guard_seconds
    for _ in range(guard_requests):
        if predicate():
            return True
        if time.monotonic() > deadline:
            return False
        send()
    return predicate()
