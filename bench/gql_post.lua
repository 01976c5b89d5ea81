-- wrk script of bench/run.sh: POSTs one GraphQL JSON body (query + variables) to either server.
-- env: BODY=path             the JSON body; a "__ID__" in its variables becomes a member id per request
--      AUTH_TOKEN=<jwt>      header "Authorization: Bearer <jwt>" (our server)
--      BASE_HEADER=<row id>  header "x-base-id: <row id>" (the PostGraphile peer's base official)
--      ID_FORMAT=gid|raw     a member id as our global id (base64url of "Member:<n>", no padding) or as the
--                            row id itself (PostGraphile's BigInt, a string)
--      ID_MODE=random|seq    random: a random member 1..ID_MAX each request; seq: START_ID, START_ID+1, …
--                            (a per-thread counter: run wrk with one thread so each id is used once)
--      ID_MAX, START_ID=1, MAX_REQ=10000000 (per thread; the run also ends at wrk's -d)
-- Counts responses with a status other than 200 or an "errors" key (GraphQL errors come back as HTTP 200), and
-- the requests sent (`sent`: the completed ones plus those still in flight when the run ended).
local body = io.open(os.getenv("BODY")):read("*a")
local id_format = os.getenv("ID_FORMAT") or "gid"
local id_mode = os.getenv("ID_MODE") or ""
local id_max = tonumber(os.getenv("ID_MAX") or "0")
local next_id = tonumber(os.getenv("START_ID") or "1")
local max_req = tonumber(os.getenv("MAX_REQ") or "10000000")
local threads = {}
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local token = os.getenv("AUTH_TOKEN")
if token and token ~= "" then wrk.headers["Authorization"] = "Bearer " .. token end
local base = os.getenv("BASE_HEADER")
if base and base ~= "" then wrk.headers["x-base-id"] = base end

local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
-- base64url without padding, arithmetic only (no bit library needed)
local function b64url(s)
  local out, n = {}, #s
  for i = 1, n, 3 do
    local a, b, c = s:byte(i, i + 2)
    local v = a * 65536 + (b or 0) * 256 + (c or 0)
    out[#out + 1] = B64:sub(math.floor(v / 262144) % 64 + 1, math.floor(v / 262144) % 64 + 1)
    out[#out + 1] = B64:sub(math.floor(v / 4096) % 64 + 1, math.floor(v / 4096) % 64 + 1)
    if b then out[#out + 1] = B64:sub(math.floor(v / 64) % 64 + 1, math.floor(v / 64) % 64 + 1) end
    if c then out[#out + 1] = B64:sub(v % 64 + 1, v % 64 + 1) end
  end
  return table.concat(out)
end
local function member_id(n)
  if id_format == "raw" then return tostring(n) end
  return b64url("Member:" .. n)
end

function setup(thread) table.insert(threads, thread) end
function init(args)
  gql_errors = 0; done_n = 0; sent = 0
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
end
function request()
  sent = sent + 1
  local id
  if id_mode == "seq" then id = next_id; next_id = next_id + 1
  elseif id_mode == "random" then id = math.random(1, id_max) end
  if id then
    return wrk.format(nil, nil, nil, (body:gsub("__ID__", member_id(id))))
  end
  return wrk.format(nil, nil, nil, body)
end
function response(status, headers, resp)
  done_n = done_n + 1
  if status ~= 200 or resp:find('"errors"', 1, true) then gql_errors = gql_errors + 1 end
  if done_n >= max_req then wrk.thread:stop() end
end
function done(summary, latency, requests)
  local e, n = 0, 0
  for _, t in ipairs(threads) do e = e + t:get("gql_errors"); n = n + t:get("sent") end
  local s = summary.duration / 1e6
  io.write(string.format(
    "RESULT requests=%d duration_s=%.2f rps=%.1f p50_ms=%.2f p95_ms=%.2f p99_ms=%.2f max_ms=%.2f errors=%d socket_errors=%d sent=%d\n",
    summary.requests, s, summary.requests / s,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, e,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout, n))
end
