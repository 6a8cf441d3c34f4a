"""Tenant isolation, as a property over random worlds and requests: nobody reads a byte of an
organization they are not a member of (platform admins aside), and every status code follows
the contract.

A world: random organizations (one with no members), users with random memberships, Basic
passwords and API keys, an admin, and usage in every organization whose every identifying
string (organization name, deployment ids and names, skus, item names) is a random marker that
no other organization shares. Then random requests over every endpoint: the six billing GETs
(JSON, and CSV where the API offers it), GET /organizations/{id}, POST /billing/usage and
POST /billing/credits/{org} as non-admins, for members, non-members, admins, unknown
organizations, other organizations' deployments, bad ranges and bad credentials, and
GET /organizations (the caller's list). Callers authenticate by Basic, ApiKey or a session cookie
(POST /session; the cookie requests send X-Requested-With: costs, so a non-admin's POST meets
the admin rule, not the CSRF rule). Checked for each:

- the status and error code the contract gives (member or admin: 200, 400 for a bad range, 404
  for a deployment (v2: an instance) the organization does not have; non-member of an existing organization: 403
  organization.invalid_access; unknown organization: 404 organization.not_found; bad
  credentials: 401; a non-admin's POST: 403 root.forbidden);
- GET /organizations lists exactly the organizations the caller may read, sorted;
- the body holds no marker of any organization other than the one in the path, and none of
  that one's either unless the caller may read it (what the caller sent, such as the ids in
  the path, may come back);
- every response validates against the spec (the harness).

The seed is fixed (COSTS_ISOLATION_SEED replays another) and printed with any failure."""

import os
import random
import unittest

import harness
from harness import (ACCEPT_CSV, API, JSON_BODY, NDJSON, USAGE_PATH, ApiTestCase, Record, costs_path,
                     credits_path, line_items_path, org_path, v2_path)

SEED = int(os.environ.get("COSTS_ISOLATION_SEED", "20261207"))
REQUESTS = 700

INVALID_ACCESS = "organization.invalid_access"
ORG_NOT_FOUND = "organization.not_found"
UNAUTH = "root.unauthenticated"
FORBIDDEN = "root.forbidden"
ORGS_PATH = API + "/organizations"
SESSION_PATH = API + "/session"
BAD_RANGE = "costs.invalid_date_range"
# An unknown deployment, on the deployment charts and on the deployment items; an unknown
# instance on the v2 paths that name one.
DEPLOYMENT_NOT_FOUND = {"/charts": "root.not_found", "/items": "billing_service.es_cluster_id_not_found",
                        "v2:items": "root.not_found", "v2:instance_charts": "root.not_found"}

# The billing GETs: (suffix, on a deployment, CSV offered); "v2:<suffix>" for v2_path, "line_items".
ENDPOINTS = [("", False, False), ("/charts", False, False), ("/deployments", False, True),
             ("/items", False, True), ("/charts", True, False), ("/items", True, True),
             ("v2:costs/instances", False, False), ("v2:items", True, False), ("v2:costs/items", False, False),
             ("v2:charts", False, False), ("v2:instance_charts", True, False), ("line_items", False, False)]
GOOD_RANGES = [{"from": "2024-02-01", "to": "2024-02-29"},
               {"from": "2024-02-01", "to": "2024-02-29", "bucketing_strategy": "monthly"},
               {"from": "2024-01-20T06:30:00Z", "to": "2024-03-05T17:15:00Z", "bucketing_strategy": "daily"},
               {"from": "2024-02-10", "to": "2024-02-12"}]
BAD_RANGES = [{"from": "2024-03-01", "to": "2024-02-01"}, {"from": "yesterday", "to": "2024-02-29"},
              {"from": "2024-02-01", "to": "2024-02-30"}]


class World:
    """Random organizations, users and usage; what each principal may read."""

    def __init__(self, rng):
        self.rng = rng
        self.orgs = {}  # id -> {"name", "deployments": {id: name}, "markers": set}
        self.users = {}  # name -> {"password", "orgs": set, "admin": bool, "key": str or None}
        self.records = []
        self.unknown_orgs = [self.token("org") for _ in range(2)]
        self.credits = []  # (org, credit id)

    def token(self, prefix):
        return "%s-%016x" % (prefix, self.rng.getrandbits(64))

    def build(self, n_orgs=5, n_users=7):
        for _ in range(n_orgs):
            org = self.token("org")
            entry = {"name": self.token("Org"), "deployments": {}, "markers": set()}
            entry["markers"].update((org, entry["name"]))
            for d in range(self.rng.randint(1, 3)):
                dep, dep_name = self.token("dep"), self.token("dn")
                entry["deployments"][dep] = dep_name
                entry["markers"].update((dep, dep_name))
                for i in range(self.rng.randint(1, 3)):
                    sku, item = self.token("sku"), self.token("item")
                    entry["markers"].update((sku, item))
                    day = self.rng.randint(10, 12)
                    self.records.append(Record(
                        self.token("u"), org, dep, "2024-02-%02dT%02d:00:00Z" % (day, i),
                        "2024-02-%02dT%02d:00:00Z" % (day, i + 1 + self.rng.randint(0, 5)),
                        str(self.rng.randint(1, 9)), "0.%04d" % self.rng.randint(1, 9999),
                        name=dep_name, sku=sku, item_name=item))
            credit = self.token("credit")
            entry["markers"].add(credit)
            entry["credit"] = credit
            self.credits.append((org, credit))
            self.orgs[org] = entry
        org_ids = sorted(self.orgs)
        lonely = org_ids[-1]  # an organization nobody but the admin may read
        for u in range(n_users):
            name = self.token("user")
            pool = org_ids[:-1]
            self.users[name] = {"password": self.token("pw"), "admin": False, "key": None,
                                "orgs": set(self.rng.sample(pool, self.rng.randint(0, min(3, len(pool)))))}
        self.admin = self.token("admin")
        self.users[self.admin] = {"password": self.token("pw"), "admin": True, "key": None, "orgs": set()}
        assert lonely not in set().union(*(u["orgs"] for u in self.users.values()))

    def may_read(self, user, org):
        u = self.users[user]
        return u["admin"] or org in u["orgs"]


class IsolationTest(ApiTestCase):
    @classmethod
    def setUpClass(cls):
        rng = random.Random(SEED)
        cls.world = w = World(rng)
        w.build()
        cls.ws = cls.make_workspace("isolation")
        for org, entry in sorted(w.orgs.items()):
            cls.ws.create_org(org, entry["name"])
        for name, u in sorted(w.users.items()):
            cls.ws.create_user(name, u["password"], admin=u["admin"], orgs=sorted(u["orgs"]))
        for name in sorted(w.users)[::2]:
            w.users[name]["key"] = cls.ws.ctl("apikey", "create", name).stdout.strip()
        revoked = cls.ws.ctl("apikey", "create", sorted(w.users)[1]).stdout.strip()
        cls.ws.ctl("apikey", "revoke", revoked.split("_")[1])
        cls.bad_credentials = [
            ("Basic", harness.basic(sorted(w.users)[0], "wrong-password")),
            ("Basic", harness.basic(w.token("nobody"), "x")),
            ("ApiKey", "ApiKey " + revoked),
            ("ApiKey", "ApiKey costs_%016x_%s" % (rng.getrandbits(64), "0" * 64)),
            ("none", None),
            ("Cookie", None),  # a session id nobody was given
        ]
        cls.ws.import_usage(w.records)
        for org, credit in w.credits:
            cls.ws.ctl("credits", "add", org, "--id", credit, "--ecu", "3", "--start", "2024-02-01", "--end",
                       "2024-03-01")
        cls.server = cls.start_class_server(cls.ws, "--rate-limit", "0")
        cls.clients = {}
        cls.cookies = {}  # user -> session id
        cls.next_source = [0]

    def client(self, user, via):
        key = (user, via)
        if key not in self.clients:
            u = self.world.users[user]
            c = self.server.client()
            c.auth = harness.basic(user, u["password"]) if via == "Basic" else "ApiKey %s" % u["key"]
            self.addClassCleanup(c.close)
            if via == "Cookie":
                c.auth = None
                resp = self.call(c, "POST", SESSION_PATH, body='{"username":"%s","password":"%s"}' % (
                    user, u["password"]), headers=JSON_BODY)
                self.assertStatus(resp, 201, self.server)
                self.cookies[user] = resp.header("Set-Cookie").split(";")[0].split("=", 1)[1]
            self.clients[key] = c
        return self.clients[key]

    def anonymous_client(self):
        """A client from an address of its own: failed logins are limited per address."""
        self.next_source[0] += 1
        n = self.next_source[0]
        c = self.server.client(source="127.0.%d.%d" % (1 + n // 250, 1 + n % 250))
        self.addCleanup(c.close)
        return c

    # -- one random request --------------------------------------------------------------------

    def random_request(self, rng):
        """(description, caller or None, path org, client, method, target, body, headers, expect),
        expect being (status, code or None)."""
        w = self.world
        if rng.random() < 0.06:
            kind, auth = rng.choice(self.bad_credentials)
            user, client = None, self.anonymous_client()
        else:
            user = rng.choice(sorted(w.users))
            r = rng.random()
            via = "Cookie" if r < 0.3 else "ApiKey" if w.users[user]["key"] and r < 0.65 else "Basic"
            kind, auth, client = via, "default", self.client(user, via)
        mine = sorted(w.users[user]["orgs"]) if user is not None else []
        if mine and rng.random() < 0.4:
            org = rng.choice(mine)  # a member's own organization more often than by chance
        else:
            org = rng.choice(sorted(w.orgs) + w.unknown_orgs)
        exists = org in w.orgs
        readable = user is not None and exists and w.may_read(user, org)
        roll = rng.random()
        headers, body = None, None
        if roll < 0.05 and (user is None or not w.users[user]["admin"]):
            method, target, headers = "POST", USAGE_PATH, NDJSON
            home = org if exists else rng.choice(sorted(w.orgs))
            body = harness.ndjson([Record(w.token("posted"), home, w.token("dep-posted"), "2024-02-11T00:00:00Z",
                                          "2024-02-11T01:00:00Z", "1", "0.5")])
            self.posted.append(body)
            expect = (401, UNAUTH) if user is None else (403, FORBIDDEN)
        elif roll < 0.10 and (user is None or not w.users[user]["admin"]):
            method, target, headers = "POST", credits_path(org), JSON_BODY
            body = '{"id":"%s","ecu":"1","start":"2024-02-01","end":"2024-02-29"}' % w.token("credit")
            expect = (401, UNAUTH) if user is None else (403, FORBIDDEN)
        elif roll < 0.20:
            method, target = "GET", org_path(org)
            expect = self.access(user, org, exists, readable) or (200, None)
        elif roll < 0.25:
            org, method, target = None, "GET", ORGS_PATH
            expect = (401, UNAUTH) if user is None else (200, None)
        else:
            method = "GET"
            suffix, on_deployment, csv_offered = rng.choice(ENDPOINTS)
            bad_range = rng.random() < 0.1
            params = dict(rng.choice(BAD_RANGES if bad_range else GOOD_RANGES))
            deployment = None
            foreign_deployment = False
            if on_deployment:
                own = sorted(w.orgs[org]["deployments"]) if exists else []
                others = sorted(d for o, e in w.orgs.items() if o != org for d in e["deployments"])
                foreign_deployment = not own or rng.random() < 0.25
                deployment = rng.choice(others if foreign_deployment else own)
            if suffix == "line_items":
                bad_range = False  # it takes no range
                target = line_items_path(org)
            elif suffix.startswith("v2:"):
                target = v2_path(org, suffix[3:], params, instance=deployment)
            else:
                target = costs_path(org, suffix, params, deployment=deployment)
            if csv_offered and rng.random() < 0.5:
                headers = ACCEPT_CSV
            expect = self.access(user, org, exists, readable)
            if expect is None:
                if bad_range:
                    expect = (400, BAD_RANGE)
                elif foreign_deployment:
                    expect = (404, DEPLOYMENT_NOT_FOUND[suffix])
                else:
                    expect = (200, None)
        desc = "%s %s%s as %s (%s)%s" % (method, target, " [Accept: text/csv]" if headers == ACCEPT_CSV else "",
                                         user or "nobody", kind,
                                         "" if user is None else " reading %s: %s" % (
                                             org, "allowed" if readable else "not allowed"))
        if kind == "Cookie":
            value = self.cookies[user] if user is not None else "%043x" % rng.getrandbits(172)
            headers = dict(headers or {}, **{"Cookie": "costs_session=" + value, "X-Requested-With": "costs"})
        return desc, user, org, client, method, target, body, headers, auth, expect

    def access(self, user, org, exists, readable):
        """The error a GET gets before its content is looked at, or None."""
        if user is None:
            return (401, UNAUTH)
        if not exists:
            return (404, ORG_NOT_FOUND)
        if not readable:
            return (403, INVALID_ACCESS)
        return None

    def forbidden_markers(self, user, org, target):
        """Markers the response must not contain: every other organization's, and the path
        organization's unless the caller may read it (what the request itself says aside)."""
        w = self.world
        out = set()
        for o, entry in w.orgs.items():
            if org is None and user is not None and w.may_read(user, o):
                continue  # GET /organizations: the caller's own organizations are listed
            if o != org or user is None or not w.may_read(user, o):
                out |= entry["markers"]
        return {m for m in out if m not in target}

    def check_visible(self, resp, org, target):
        """A 200 of a readable organization's deployments, org charts or v2 instances shows its
        deployments, and its line_items its credit: the marker check has something to find."""
        path = target.split("?")[0]
        if resp.status != 200:
            return
        if path == ORGS_PATH:
            w = self.world
            want = [{"id": o, "name": w.orgs[o]["name"]} for o in sorted(w.orgs) if w.may_read(self.caller, o)]
            if resp.json != {"organizations": want}:
                self.fail_response(resp, self.server, "expected the caller's organizations %r" % want)
            return
        if path.endswith("/line_items"):
            if self.world.orgs[org]["credit"] not in resp.text:
                self.fail_response(resp, self.server, "the organization's own credit is missing")
            return
        if "/deployments/" in path or "/instances/" in path or not (
                path.endswith("/deployments") or path.endswith("/charts") or path.endswith("/costs/instances")):
            return
        missing = [d for d in self.world.orgs[org]["deployments"] if d not in resp.text]
        if missing:
            self.fail_response(resp, self.server, "the organization's own deployments %s are missing" % missing)

    # -- the property --------------------------------------------------------------------------

    def test_nobody_reads_another_organizations_data(self):
        rng = random.Random(SEED + 1)
        self.posted = []
        for i in range(REQUESTS):
            desc, user, org, client, method, target, body, headers, auth, expect = self.random_request(rng)
            self.caller = user
            try:
                resp = self.call(client, method, target, body=body, headers=headers, auth=auth)
                status, code = expect
                if code is None:
                    self.assertStatus(resp, status, self.server)
                    self.check_visible(resp, org, target)
                else:
                    self.assertError(resp, status, code, server=self.server)
                leaked = sorted(m for m in self.forbidden_markers(user, org, target) if m in resp.text)
                if leaked:
                    self.fail_response(resp, self.server, "the response holds data of organizations the caller "
                                       "may not read: %s" % leaked)
            except AssertionError as e:
                raise AssertionError("isolation property, seed %d (COSTS_ISOLATION_SEED replays it), request %d: "
                                     "%s\n%s" % (SEED, i + 1, desc, e)) from None
        # Nothing a non-admin posted was stored.
        admin = self.client(self.world.admin, "Basic")
        for org in sorted(self.world.orgs):
            resp = self.get(admin, costs_path(org, "/deployments", GOOD_RANGES[0]))
            self.assertStatus(resp, 200, self.server)
            self.assertNotIn("dep-posted", resp.text, "a non-admin's POST /billing/usage was stored (seed %d)" % SEED)


if __name__ == "__main__":
    unittest.main()
