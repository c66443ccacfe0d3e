-- The router's dynamic half: every decision that depends on the routing table.
--
-- nginx.conf is static; the platform pushes the table to the admin server (a unix
-- socket) which stores it in the shared dict `deis`, so that no app change ever reloads
-- nginx. Keys of the dict:
--   gen            a counter bumped by every change; workers drop their caches when it moves
--   synced         set by the platform after a full push (absent after an nginx restart)
--   h:HOST         the app serving HOST ("*.example.com" for wildcards)
--   a:APP          the app's settings, lines: "maintenance 0|1", "routable 0|1",
--                  "https 0|1", "allowlist 0|1", "allow FAMILY HEX PREFIX"
--   ah:APP, ac:APP the app's hosts and certificate hosts (newline separated): an index
--   c:HOST, k:HOST PEM certificate chain and private key for HOST
--   p:APP          the app's ready web replicas, lines "IP PORT"
--   pc, pk, pn, pd the platform's certificate, key, the names it covers, and whether it
--                  is also the default certificate (it covers *.PLATFORM_DOMAIN)
--   wakes          a list (rpush/lpop) of apps a held request asked the platform to wake,
--                  read by the platform's long poll GET /wakes on the admin socket
--   wl:APP         set (with a TTL) while a wake of APP is asked for: one request asks
--   wq:APP         how many requests wait for APP to wake (the queue is bounded)
--   wf:APP         set for a few seconds when the platform could not wake APP (or it
--                  was not asleep): held requests give up at once (503), new ones too
--   t:TOKEN        an ACME HTTP-01 challenge being validated: "HOST KEY_AUTHORIZATION",
--                  answered at http://HOST/.well-known/acme-challenge/TOKEN before any
--                  check of the app (maintenance, routing off, no replica, allow-list)
-- Each worker parses what it needs once per generation and keeps it in Lua tables.

local ffi = require "ffi"
local bit = require "bit"
local balancer = require "ngx.balancer"
local ssl = require "ngx.ssl"

local ngx = ngx
local shared = ngx.shared.deis
local find, sub, byte, gmatch, lower = string.find, string.sub, string.byte, string.gmatch, string.lower
local concat = table.concat
local tonumber = tonumber

ffi.cdef [[
int inet_pton(int af, const char *src, void *dst);
]]
local AF_INET, AF_INET6 = 2, 10
local addr_buf = ffi.new("unsigned char[16]")

local _M = {}

local conf = {
    https_port = 443,
    max_tries = 3,
    fail_timeout = 10,
    cache_hosts = 10000,
    controller_host = "",
    body_size = 1048576, -- an app's limit unless it has its own (bytes)
    body_ceiling = 1048576, -- nginx's own client_max_body_size: no app goes above it
    connect_timeout = 5,
    read_timeout = 60,
    send_timeout = 60,
    controller_tls_enforce = false,
    wake_timeout = 30, -- seconds a request waits for a sleeping app to wake
    wake_queue = 100, -- requests that may wait for one app at a time; more get 503 at once
}

local PAGES = {
    [403] = "<!DOCTYPE html><html><head><title>403 Forbidden</title></head><body>"
        .. "<h1>403 Forbidden</h1><p>Your address may not use this app.</p></body></html>\n",
    [404] = "<!DOCTYPE html><html><head><title>404 Not Found</title></head><body>"
        .. "<h1>404 Not Found</h1><p>No app is served at this address.</p></body></html>\n",
    [413] = "<!DOCTYPE html><html><head><title>413 Payload Too Large</title></head><body>"
        .. "<h1>413 Payload Too Large</h1><p>The request body is larger than this app "
        .. "accepts.</p></body></html>\n",
    maintenance = "<!DOCTYPE html><html><head><title>503 Service Unavailable</title></head>"
        .. "<body><h1>Down for maintenance</h1><p>This app is under maintenance. "
        .. "Please try again later.</p></body></html>\n",
    no_peers = "<!DOCTYPE html><html><head><title>503 Service Unavailable</title></head>"
        .. "<body><h1>503 Service Unavailable</h1><p>This app has no web process ready "
        .. "to answer.</p></body></html>\n",
    waking = "<!DOCTYPE html><html><head><title>503 Service Unavailable</title></head>"
        .. "<body><h1>503 Service Unavailable</h1><p>This app is waking up. "
        .. "Please try again in a few seconds.</p></body></html>\n",
}

-- Worker-local caches, valid for one generation of the table.
local cache_gen = -1
local hosts = {} -- host -> app name or false
local host_count = 0
local apps = {} -- app -> parsed entry or false
local certs = {} -- host -> {cert=cdata, key=cdata} or false
local cert_count = 0
local platform_pair = nil -- the platform's certificate: nil (not read yet), false or a table
local down = {} -- "ip:port" -> time until which the peer is skipped (passive health)
-- Request ids (X-Request-Id when the client sent none): 24 random hex digits drawn once
-- per worker (again after 2^31 requests) and a counter, 32 hex digits like $request_id.
local id_prefix, id_count = nil, 0
local tohex = bit.tohex

function _M.configure(options)
    for k, v in pairs(options) do
        conf[k] = v
    end
end

local function sync()
    local gen = shared:get("gen") or 0
    if gen ~= cache_gen then
        cache_gen = gen
        hosts, host_count, apps, certs, cert_count = {}, 0, {}, {}, 0
        platform_pair = nil
    end
end

local function split_lines(text)
    local out = {}
    if text then
        for line in gmatch(text, "[^\n]+") do
            out[#out + 1] = line
        end
    end
    return out
end

local function index_set(text)
    local out = {}
    for _, v in ipairs(split_lines(text)) do
        out[v] = true
    end
    return out
end

local function hex_to_bytes(hex)
    return (hex:gsub("..", function(cc)
        return string.char(tonumber(cc, 16))
    end))
end

local function app_of(host)
    local app = hosts[host]
    if app ~= nil then
        return app
    end
    app = shared:get("h:" .. host)
    if not app then
        -- wildcards, the most specific first: a.b.example.com tries *.b.example.com,
        -- then *.example.com, then *.com
        local rest = host
        while true do
            local dot = find(rest, ".", 1, true)
            if not dot then
                break
            end
            rest = sub(rest, dot + 1)
            if rest == "" then
                break
            end
            app = shared:get("h:*." .. rest)
            if app then
                break
            end
        end
    end
    if host_count >= conf.cache_hosts then
        hosts, host_count = {}, 0
    end
    hosts[host] = app or false
    host_count = host_count + 1
    return app or false
end

local function parse_peers(text)
    local peers = {}
    for line in gmatch(text or "", "[^\n]+") do
        local ip, port = line:match("^(%S+) (%d+)$")
        if ip then
            peers[#peers + 1] = { ip = ip, port = tonumber(port), key = ip .. ":" .. port }
        end
    end
    return peers
end

local function entry_of(app)
    local entry = apps[app]
    if entry ~= nil then
        return entry
    end
    local text = shared:get("a:" .. app)
    if not text then
        apps[app] = false
        return false
    end
    entry = { name = app, maintenance = false, routable = true, https = false, allow = nil, rr = 0 }
    for line in gmatch(text, "[^\n]+") do
        local word, rest = line:match("^(%S+) (.*)$")
        if word == "maintenance" then
            entry.maintenance = rest == "1"
        elseif word == "routable" then
            entry.routable = rest == "1"
        elseif word == "https" then
            entry.https = rest == "1"
        elseif word == "wakes" then
            entry.wakes = rest == "1"
        elseif word == "body_size" then
            entry.body_size = tonumber(rest)
        elseif word == "connect_timeout" or word == "read_timeout" or word == "send_timeout" then
            entry[word] = tonumber(rest)
            entry.timeouts = true
        elseif word == "allowlist" and rest == "1" then
            entry.allow = entry.allow or {}
        elseif word == "allow" then
            local family, hex, prefix = rest:match("^(%d) (%x+) (%d+)$")
            if family then
                entry.allow = entry.allow or {}
                entry.allow[#entry.allow + 1] = {
                    family = tonumber(family),
                    bytes = hex_to_bytes(hex),
                    prefix = tonumber(prefix),
                }
            end
        end
    end
    entry.body_size = entry.body_size or conf.body_size
    if entry.timeouts then
        entry.timeouts = {
            entry.connect_timeout or conf.connect_timeout,
            entry.send_timeout or conf.send_timeout,
            entry.read_timeout or conf.read_timeout,
        }
    end
    entry.peers = parse_peers(shared:get("p:" .. app))
    apps[app] = entry
    return entry
end

-- The client's address as (family 4|6, packed bytes); IPv4-mapped IPv6 counts as IPv4.
local function packed(addr)
    if find(addr, ":", 1, true) then
        if ffi.C.inet_pton(AF_INET6, addr, addr_buf) ~= 1 then
            return nil
        end
        local bytes = ffi.string(addr_buf, 16)
        if sub(bytes, 1, 12) == "\0\0\0\0\0\0\0\0\0\0\255\255" then
            return 4, sub(bytes, 13, 16)
        end
        return 6, bytes
    end
    if ffi.C.inet_pton(AF_INET, addr, addr_buf) ~= 1 then
        return nil
    end
    return 4, ffi.string(addr_buf, 4)
end

local function in_network(net, family, bytes)
    if net.family ~= family then
        return false
    end
    local whole = bit.rshift(net.prefix, 3)
    if whole > 0 and sub(bytes, 1, whole) ~= sub(net.bytes, 1, whole) then
        return false
    end
    local rest = net.prefix % 8
    if rest == 0 then
        return true
    end
    local mask = bit.band(bit.lshift(0xff, 8 - rest), 0xff)
    return bit.band(byte(bytes, whole + 1), mask) == bit.band(byte(net.bytes, whole + 1), mask)
end

local function allowed(allow, addr)
    local family, bytes = packed(addr)
    if not family then
        return false
    end
    for i = 1, #allow do
        if in_network(allow[i], family, bytes) then
            return true
        end
    end
    return false
end

local function page(status, body, retry_after)
    ngx.status = status
    ngx.header["Content-Type"] = "text/html; charset=utf-8"
    ngx.header["Cache-Control"] = "no-store"
    if status == 503 then
        ngx.header["Retry-After"] = retry_after or "60"
    end
    ngx.print(body)
    return ngx.exit(ngx.HTTP_OK)
end

-- Whether the request's body is larger than `limit` bytes (called only for requests that
-- may have one). nginx itself refuses bodies above the ceiling; below it the app's limit
-- is checked here, on Content-Length, or for a body of unknown length (chunked, HTTP/2)
-- once it is read (nginx reads the whole body before proxying anyway).
local function body_too_large(limit)
    local length = ngx.var.http_content_length
    if length then
        return (tonumber(length) or 0) > limit
    end
    ngx.req.read_body()
    local data = ngx.req.get_body_data()
    if data then
        return #data > limit
    end
    local path = ngx.req.get_body_file()
    if not path then
        return false
    end
    local f = io.open(path, "rb")
    if not f then
        return false
    end
    local size = f:seek("end")
    f:close()
    return size > limit
end

local function new_prefix()
    local f = io.open("/dev/urandom", "rb")
    local bytes = f and f:read(12)
    if f then
        f:close()
    end
    if not bytes or #bytes ~= 12 then -- no /dev/urandom: the worker and the time
        return string.format("%08x%016x", ngx.worker.pid(), math.floor(ngx.now() * 1000))
    end
    return (bytes:gsub(".", function(c)
        return string.format("%02x", byte(c))
    end))
end

local function request_id()
    if id_prefix == nil or id_count >= 0x7fffffff then
        id_prefix, id_count = new_prefix(), 0
    end
    id_count = id_count + 1
    return id_prefix .. tohex(id_count, 8)
end

local CHALLENGE = "/.well-known/acme-challenge/"
local CHALLENGE_LEN = #CHALLENGE

-- The key authorization of an ACME HTTP-01 challenge for this host, or nil.
local function challenge(host, uri)
    local answer = shared:get("t:" .. sub(uri, CHALLENGE_LEN + 1))
    if not answer then
        return nil
    end
    local space = find(answer, " ", 1, true)
    if not space or sub(answer, 1, space - 1) ~= host then
        return nil
    end
    return sub(answer, space + 1)
end

-- content_by_lua at the controller's name: an ACME HTTP-01 answer, or 404.
function _M.challenge_only()
    sync()
    local answer = challenge(ngx.var.host, ngx.var.uri)
    if not answer then
        return page(404, PAGES[404])
    end
    ngx.header["Content-Type"] = "text/plain"
    ngx.header["Cache-Control"] = "no-store"
    ngx.print(answer)
    return ngx.exit(ngx.HTTP_OK)
end

-- A request to an app that may sleep found no ready replica: ask the platform to wake it
-- (one request per wake: the wl: lock) and wait, polling the shared dict, until the app
-- has peers. Answers the app's entry with its peers, or nil (the queue is full, the
-- wake timed out, the app went away).
local function wait_awake(app)
    if shared:get("wf:" .. app) then
        return nil
    end
    -- the count expires (a worker that died while waiting can never leave it full)
    local ttl = 2 * conf.wake_timeout
    local waiting = shared:incr("wq:" .. app, 1, 0, ttl)
    if not waiting or waiting > conf.wake_queue then
        if waiting then
            shared:incr("wq:" .. app, -1, 0, ttl)
        end
        return nil
    end
    if shared:add("wl:" .. app, 1, conf.wake_timeout) then
        shared:rpush("wakes", app)
    end
    local deadline = ngx.now() + conf.wake_timeout
    local delay, found = 0.005, nil
    while true do
        ngx.sleep(delay)
        delay = delay < 0.02 and delay * 2 or 0.02
        sync()
        local entry = entry_of(app)
        if not entry or not entry.routable then
            break
        end
        if #entry.peers > 0 then
            found = entry
            shared:delete("wl:" .. app)
            break
        end
        if shared:get("wf:" .. app) then
            break
        end
        ngx.update_time()
        if ngx.now() >= deadline then
            break
        end
    end
    shared:incr("wq:" .. app, -1, 0, ttl)
    return found
end

-- access_by_lua: which app, and whether it may be reached.
function _M.access()
    sync()
    ngx.var.deis_made_request_id = request_id()
    local host = ngx.var.host
    local uri = ngx.var.uri
    if byte(uri, 2) == 46 and sub(uri, 1, CHALLENGE_LEN) == CHALLENGE then -- "/."
        local answer = challenge(host, uri)
        if answer then
            ngx.status = 200
            ngx.header["Content-Type"] = "text/plain"
            ngx.header["Cache-Control"] = "no-store"
            ngx.print(answer)
            return ngx.exit(ngx.HTTP_OK)
        end
    end
    local app = app_of(host)
    local entry = app and entry_of(app)
    if not entry or not entry.routable then
        return page(404, PAGES[404])
    end
    ngx.var.deis_app = app
    if entry.allow and not allowed(entry.allow, ngx.var.remote_addr) then
        return page(403, PAGES[403])
    end
    if entry.https and ngx.var.scheme == "http" then
        local port = conf.https_port == 443 and "" or (":" .. conf.https_port)
        return ngx.redirect("https://" .. host .. port .. ngx.var.request_uri, 301)
    end
    if entry.maintenance then
        return page(503, PAGES.maintenance)
    end
    if #entry.peers == 0 then
        if not entry.wakes then
            return page(503, PAGES.no_peers)
        end
        entry = wait_awake(app)
        if not entry then
            return page(503, PAGES.waking, "5")
        end
    end
    if
        entry.body_size < conf.body_ceiling
        and ngx.var.deis_may_have_body == "1"
        and body_too_large(entry.body_size)
    then
        return page(413, PAGES[413])
    end
    ngx.ctx.deis = entry
end

-- balancer_by_lua: round robin over the app's peers, skipping those that failed lately.
function _M.balance()
    local ctx = ngx.ctx
    local entry = ctx.deis
    local peers = entry.peers
    local n = #peers
    local last = ctx.deis_last
    local tried = nil -- the peers this request tried: only made for a second try
    if last == nil then
        if n > 1 then
            balancer.set_more_tries(math.min(n - 1, conf.max_tries))
        end
        local t = entry.timeouts
        if t then
            local ok, err = balancer.set_timeouts(t[1], t[2], t[3])
            if not ok then
                ngx.log(ngx.ERR, "deis: cannot set the timeouts of ", entry.name, ": ", err)
            end
        end
    else
        tried = ctx.deis_tried
        if tried == nil then
            tried = { [last] = true }
            ctx.deis_tried = tried
        end
        if balancer.get_last_failure() == "failed" then
            down[last] = ngx.now() + conf.fail_timeout
            ngx.log(ngx.WARN, "deis: peer ", last, " of ", entry.name,
                " failed; skipped for ", conf.fail_timeout, "s")
        end
    end
    local chosen
    if n == 1 then
        chosen = peers[1] -- even when it failed lately: there is no other
    else
        local now = ngx.now()
        local start = entry.rr
        local chosen_i
        for i = 1, n do
            local idx = (start + i - 1) % n + 1
            local p = peers[idx]
            if (tried == nil or not tried[p.key]) and (down[p.key] or 0) <= now then
                chosen, chosen_i = p, idx
                break
            end
        end
        if not chosen then -- all failed lately: try one not tried yet rather than none
            for i = 1, n do
                local idx = (start + i - 1) % n + 1
                if tried == nil or not tried[peers[idx].key] then
                    chosen, chosen_i = peers[idx], idx
                    break
                end
            end
        end
        if not chosen then
            chosen_i = start % n + 1
            chosen = peers[chosen_i]
        end
        entry.rr = chosen_i
    end
    if tried ~= nil then
        tried[chosen.key] = true
    end
    ctx.deis_last = chosen.key
    local ok, err = balancer.set_current_peer(chosen.ip, chosen.port)
    if not ok then
        ngx.log(ngx.ERR, "deis: cannot use peer ", chosen.key, ": ", err)
        return ngx.exit(502)
    end
end

-- ssl_certificate_by_lua: the certificate attached to the SNI name, else the default one.
local serve -- defined below
local platform -- defined below

local function load_pair_from(cert_pem, key_pem, what)
    if not cert_pem then
        return nil
    end
    local cert, err = ssl.parse_pem_cert(cert_pem)
    if not cert then
        ngx.log(ngx.ERR, "deis: bad certificate for ", what, ": ", err)
        return nil
    end
    local key, kerr = ssl.parse_pem_priv_key(key_pem or "")
    if not key then
        ngx.log(ngx.ERR, "deis: bad private key for ", what, ": ", kerr)
        return nil
    end
    return { cert = cert, key = key }
end

local function load_pair(host)
    return load_pair_from(shared:get("c:" .. host), shared:get("k:" .. host), host)
end

-- The platform's certificate (deisctl certs:set): nil when there is none.
platform = function()
    if platform_pair == nil then
        platform_pair = false
        local pair = load_pair_from(shared:get("pc"), shared:get("pk"), "the platform")
        if pair then
            pair.names = index_set(shared:get("pn"))
            pair.default = shared:get("pd") == "1"
            platform_pair = pair
        end
    end
    return platform_pair or nil
end

local function covers(names, name)
    if names[name] then
        return true
    end
    local dot = find(name, ".", 1, true)
    return dot ~= nil and names["*" .. sub(name, dot)] == true
end

-- access_by_lua of the controller's server, only when the operator enforces TLS: plain
-- HTTP gets a 308 (the method and body are kept: a POST stays a POST) to https, while
-- the platform has a certificate (else there is no https a client would trust).
function _M.controller()
    if ngx.var.scheme ~= "http" then
        return
    end
    sync()
    if not platform() then
        return
    end
    local port = conf.https_port == 443 and "" or (":" .. conf.https_port)
    return ngx.redirect("https://" .. conf.controller_host .. port .. ngx.var.request_uri, 308)
end

function _M.certificate()
    sync()
    local plat = platform()
    local name = ssl.server_name()
    if not name then
        if plat and plat.default then
            return serve(plat, "(no name)")
        end
        return
    end
    name = lower(name)
    local pair = certs[name]
    if pair == nil then
        -- the controller's name is the platform's; an app's certificate cannot take it
        if name == conf.controller_host then
            -- the controller's name is the platform's: its certificate, else nginx's
            -- default one; never an app's, not even an app's wildcard
            pair = plat or false
        else
            pair = load_pair(name)
        end
        if not pair and name ~= conf.controller_host then
            local rest = name
            while not pair do
                local dot = find(rest, ".", 1, true)
                if not dot then
                    break
                end
                rest = sub(rest, dot + 1)
                if rest == "" then
                    break
                end
                pair = load_pair("*." .. rest)
            end
        end
        if not pair and plat and (plat.default or covers(plat.names, name)) then
            pair = plat
        end
        pair = pair or false
        if cert_count >= conf.cache_hosts then -- random SNI names must not grow it forever
            certs, cert_count = {}, 0
        end
        certs[name] = pair
        cert_count = cert_count + 1
    end
    if not pair then
        return
    end
    return serve(pair, name)
end

serve = function(pair, name)
    local ok, err = ssl.clear_certs()
    if ok then
        ok, err = ssl.set_cert(pair.cert)
    end
    if ok then
        ok, err = ssl.set_priv_key(pair.key)
    end
    if not ok then
        ngx.log(ngx.ERR, "deis: cannot serve the certificate of ", name, ": ", err)
        return ngx.exit(ngx.ERROR)
    end
end

-- The admin server (a unix socket only root reaches): the platform's writes.
local function set(key, value)
    local ok, err = shared:safe_set(key, value)
    if not ok then
        error("cannot store " .. key:match("^[^:]*") .. ": " .. tostring(err))
    end
end

local function put_app(app, body)
    local settings, new_hosts, new_certs = {}, {}, {}
    local pems = {}
    for line in gmatch(body, "[^\n]+") do
        local word, rest = line:match("^(%S+) ?(.*)$")
        if word == "host" then
            new_hosts[#new_hosts + 1] = lower(rest)
        elseif word == "cert" then
            local host, cert64, key64 = rest:match("^(%S+) (%S+) (%S+)$")
            if not host then
                error("bad cert line")
            end
            host = lower(host)
            new_certs[#new_certs + 1] = host
            pems[host] = { ngx.decode_base64(cert64), ngx.decode_base64(key64) }
        elseif word then
            settings[#settings + 1] = line
        end
    end
    local old_hosts = index_set(shared:get("ah:" .. app))
    local old_certs = index_set(shared:get("ac:" .. app))
    set("a:" .. app, concat(settings, "\n"))
    local keep_hosts, keep_certs = {}, {}
    for _, h in ipairs(new_hosts) do
        -- a host another app holds stays that app's until it lets it go: a later app
        -- never takes it over (the platform pushes this app again once it is free)
        local owner = shared:get("h:" .. h)
        if owner == nil or owner == app then
            set("h:" .. h, app)
        else
            ngx.log(ngx.WARN, "deis: ", app, " asked for the host ", h, ", which ", owner,
                " holds: refused")
        end
        keep_hosts[h] = true
    end
    for _, h in ipairs(new_certs) do
        -- only for a host this app holds: never over another app's certificate
        if shared:get("h:" .. h) == app then
            set("c:" .. h, pems[h][1])
            set("k:" .. h, pems[h][2])
            keep_certs[h] = true
        end
    end
    for h in pairs(old_certs) do
        local owner = shared:get("h:" .. h)
        if not keep_certs[h] and (owner == nil or owner == app) then
            shared:delete("c:" .. h)
            shared:delete("k:" .. h)
        end
    end
    for h in pairs(old_hosts) do
        if not keep_hosts[h] and shared:get("h:" .. h) == app then
            shared:delete("h:" .. h)
        end
    end
    set("ah:" .. app, concat(new_hosts, "\n"))
    set("ac:" .. app, concat(new_certs, "\n"))
end

local function delete_app(app)
    for h in pairs(index_set(shared:get("ac:" .. app))) do
        local owner = shared:get("h:" .. h)
        if owner == nil or owner == app then
            shared:delete("c:" .. h)
            shared:delete("k:" .. h)
        end
    end
    for h in pairs(index_set(shared:get("ah:" .. app))) do
        if shared:get("h:" .. h) == app then
            shared:delete("h:" .. h)
        end
    end
    for _, prefix in ipairs({ "a:", "ah:", "ac:", "p:" }) do
        shared:delete(prefix .. app)
    end
end

local function put_platform(body)
    local names, default, cert, key = {}, "0", nil, nil
    for line in gmatch(body, "[^\n]+") do
        local word, rest = line:match("^(%S+) ?(.*)$")
        if word == "name" then
            names[#names + 1] = lower(rest)
        elseif word == "default" then
            default = rest == "1" and "1" or "0"
        elseif word == "cert" then
            local cert64, key64 = rest:match("^(%S+) (%S+)$")
            if not cert64 then
                error("bad cert line")
            end
            cert, key = ngx.decode_base64(cert64), ngx.decode_base64(key64)
        end
    end
    if not cert or not key then
        error("no certificate")
    end
    set("pc", cert)
    set("pk", key)
    set("pn", concat(names, "\n"))
    set("pd", default)
end

local function delete_platform()
    for _, k in ipairs({ "pc", "pk", "pn", "pd" }) do
        shared:delete(k)
    end
end

local function describe_platform()
    if not shared:get("pc") then
        return "certificate none\n"
    end
    local lines = { "certificate yes", "default " .. (shared:get("pd") or "0") }
    for _, n in ipairs(split_lines(shared:get("pn"))) do
        lines[#lines + 1] = "name " .. n
    end
    return concat(lines, "\n") .. "\n"
end

local function describe(app)
    local lines = { "app " .. app }
    local settings = shared:get("a:" .. app)
    if settings then
        for _, l in ipairs(split_lines(settings)) do
            lines[#lines + 1] = l
        end
    end
    for _, h in ipairs(split_lines(shared:get("ah:" .. app))) do
        lines[#lines + 1] = "host " .. h .. (shared:get("h:" .. h) == app and "" or " (taken)")
    end
    for _, h in ipairs(split_lines(shared:get("ac:" .. app))) do
        lines[#lines + 1] = "cert " .. h .. (shared:get("c:" .. h) and "" or " (missing)")
    end
    for _, p in ipairs(parse_peers(shared:get("p:" .. app))) do
        lines[#lines + 1] = "peer " .. p.key
    end
    return concat(lines, "\n") .. "\n"
end

function _M.admin()
    local method = ngx.req.get_method()
    local uri = ngx.var.uri
    local kind, app = uri:match("^/(%a+)/([%w%-_.]+)$")
    if not kind then
        kind = uri:match("^/(%a+)$")
    end
    ngx.req.read_body()
    local body = ngx.req.get_body_data() or ""
    if ngx.req.get_body_file() then
        ngx.status = 413
        ngx.say("body too large for the admin buffer")
        return ngx.exit(ngx.HTTP_OK)
    end
    local ok, err = pcall(function()
        if kind == "status" and method == "GET" then
            ngx.say("gen ", shared:get("gen") or 0)
            ngx.say("synced ", shared:get("synced") or 0)
            ngx.say("free ", shared:free_space())
            return
        elseif kind == "synced" and method == "PUT" then
            set("synced", body ~= "" and body or "1")
        elseif kind == "apps" and app and method == "PUT" then
            put_app(app, body)
        elseif kind == "apps" and app and method == "DELETE" then
            delete_app(app)
        elseif kind == "apps" and app and method == "GET" then
            ngx.print(describe(app))
            return
        elseif kind == "platform" and method == "PUT" then
            put_platform(body)
        elseif kind == "platform" and method == "DELETE" then
            delete_platform()
        elseif kind == "platform" and method == "GET" then
            ngx.print(describe_platform())
            return
        elseif kind == "challenges" and app and method == "PUT" then
            if not body:match("^%S+ %S+$") then
                error("a challenge is HOST KEY_AUTHORIZATION")
            end
            set("t:" .. app, lower(body:match("^%S+")) .. body:match(" %S+$"))
            return ngx.say("ok") -- no app changes: the caches stay
        elseif kind == "challenges" and app and method == "DELETE" then
            shared:delete("t:" .. app)
            return ngx.say("ok")
        elseif kind == "peers" and app and method == "PUT" then
            set("p:" .. app, body)
        elseif kind == "wakes" and method == "GET" then
            -- the platform's long poll: the apps to wake, one a line, as soon as there
            -- are any, else "" after ?wait= seconds (at most 30)
            local wait = math.min(tonumber(ngx.var.arg_wait) or 20, 30)
            local deadline = ngx.now() + wait
            local out = {}
            while true do
                local app = shared:lpop("wakes")
                while app do
                    out[#out + 1] = app
                    app = shared:lpop("wakes")
                end
                ngx.update_time()
                if #out > 0 or ngx.now() >= deadline then
                    break
                end
                ngx.sleep(0.01)
            end
            ngx.print(concat(out, "\n"))
            return
        elseif kind == "wakes" and app and method == "DELETE" then
            -- the platform could not wake the app: its held requests get 503 now
            shared:set("wf:" .. app, 1, tonumber(body) or 5)
            shared:delete("wl:" .. app)
            return ngx.say("ok")
        elseif kind == "all" and method == "DELETE" then
            shared:flush_all()
            shared:flush_expired()
        else
            ngx.status = 404
            ngx.say("unknown admin request ", method, " ", uri)
            return
        end
        shared:incr("gen", 1, 0)
        ngx.say("ok")
    end)
    if not ok then
        ngx.log(ngx.ERR, "deis admin: ", err)
        ngx.status = 500
        ngx.say(tostring(err))
    end
end

return _M
