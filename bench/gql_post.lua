-- wrk script for hoi-ccb: POST a GraphQL JSON body with a bearer token; bounded by count (MAX_REQ per
-- thread) as well as by wrk's -d time. A variant of /work/shared/bench/postgraphile/gql_post.lua that
-- prints the same RESULT line, so that folder's load_wrk.sh parses it unchanged.
-- env: BODY=path/to/body.json
--      AUTH_TOKEN=<jwt>       -> header "Authorization: Bearer <jwt>"
--      VARY_ID=55700          -> the placeholder __MEMBER_ID__ in the body becomes the global id of a random
--                                member 1..VARY_ID each request
--      SEQ_ID=1               -> the placeholder becomes the global id of member START_ID, START_ID+1, ... (a
--                                per-thread counter: run wrk with 1 thread so every id is used once)
--      START_ID=1, MAX_REQ=200000
-- Counts responses with a non-200 status or an "errors" key (GraphQL errors come back as HTTP 200), and
-- separately those whose error code is CONFLICT.
local body = io.open(os.getenv("BODY")):read("*a")
local vary = tonumber(os.getenv("VARY_ID") or "0")
local seq = os.getenv("SEQ_ID") ~= nil and os.getenv("SEQ_ID") ~= ""
local next_id = tonumber(os.getenv("START_ID") or "1")
local max_req = tonumber(os.getenv("MAX_REQ") or "200000")
local threads = {}
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local token = os.getenv("AUTH_TOKEN")
if token and token ~= "" then wrk.headers["Authorization"] = "Bearer " .. token end

local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
-- base64url without padding (the server's global id encoding), arithmetic only (no bit library needed)
local function b64url(s)
  local out, n = {}, #s
  for i = 1, n, 3 do
    local a, b, c = s:byte(i, i + 2)
    local v = a * 65536 + (b or 0) * 256 + (c or 0)
    local c1 = math.floor(v / 262144) % 64
    local c2 = math.floor(v / 4096) % 64
    local c3 = math.floor(v / 64) % 64
    local c4 = v % 64
    out[#out + 1] = B64:sub(c1 + 1, c1 + 1) .. B64:sub(c2 + 1, c2 + 1)
    if b then out[#out + 1] = B64:sub(c3 + 1, c3 + 1) end
    if c then out[#out + 1] = B64:sub(c4 + 1, c4 + 1) end
  end
  return table.concat(out)
end
local function member_gid(n) return b64url("Member:" .. n) end

function setup(thread) table.insert(threads, thread) end
function init(args)
  gql_errors = 0; conflicts = 0; done_n = 0
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
end
function request()
  local id
  if seq then id = next_id; next_id = next_id + 1
  elseif vary > 0 then id = math.random(1, vary) end
  if id then
    local b = body:gsub("__MEMBER_ID__", member_gid(id))
    return wrk.format(nil, nil, nil, b)
  end
  return wrk.format(nil, nil, nil, body)
end
function response(status, headers, resp)
  done_n = done_n + 1
  if status ~= 200 or resp:find('"errors"', 1, true) then
    gql_errors = gql_errors + 1
    if resp:find('"CONFLICT"', 1, true) then conflicts = conflicts + 1 end
  end
  if done_n >= max_req then wrk.thread:stop() end
end
function done(summary, latency, requests)
  local e, c = 0, 0
  for _, t in ipairs(threads) do e = e + t:get("gql_errors"); c = c + t:get("conflicts") end
  local s = summary.duration / 1e6
  io.write(string.format(
    "RESULT requests=%d duration_s=%.2f rps=%.1f p50_ms=%.2f p90_ms=%.2f p95_ms=%.2f p99_ms=%.2f max_ms=%.2f gql_or_http_errors=%d socket_errors=%d conflict_errors=%d\n",
    summary.requests, s, summary.requests / s,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000, e,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout, c))
end
