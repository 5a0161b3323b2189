-- lunaserve.http: a request body given as a function (the next piece, then nil) is sent
-- chunked, or as it is under the caller's Content-Length.
local H = require("spec.support.http_client")
local cjson = require("cjson")

describe("http client request body from a function", function()
    local client, upstream, faulty

    lazy_setup(function()
        upstream, faulty, client = H.start_all("upstream", "faulty")
    end)

    lazy_teardown(function()
        H.stop_all(client, upstream, faulty)
    end)

    it("is sent chunked, one chunk per piece, empty pieces skipped", function()
        local r = H.run(client, [[
            local pieces = {"hello", "", " ", "chunked world"}
            local i = 0
            return view(http.request{url = "http://127.0.0.1:" .. arg.port .. "/echo-raw",
                method = "POST", body = function() i = i + 1; return pieces[i] end})
        ]], { port = faulty.port })
        assert.are.equal("POST /echo-raw HTTP/1.1\r\n"
            .. "Host: 127.0.0.1:" .. faulty.port .. "\r\n"
            .. "User-Agent: lunaserve/0.1.0\r\n"
            .. "Transfer-Encoding: chunked\r\n\r\n"
            .. "5\r\nhello\r\n1\r\n \r\nd\r\nchunked world\r\n0\r\n\r\n", r.body)
    end)

    it("reaches lunaserve whole, even when the pieces come after waits", function()
        local r = H.run(client, [[
            local i = 0
            local res, err = http.request{url = "http://127.0.0.1:" .. arg.port .. "/echo",
                method = "PUT", body = function()
                    i = i + 1
                    if i > 20 then return nil end
                    lunaserve.sleep(5)
                    return string.rep(string.char(64 + i), 1000)
                end}
            return view(res, err)
        ]], { port = upstream.port })
        assert.are.equal(200, r.status)
        local j = cjson.decode(r.body)
        assert.are.equal("chunked", j.headers["transfer-encoding"])
        assert.is_nil(j.headers["content-length"])
        local expected = {}
        for i = 1, 20 do
            expected[i] = string.rep(string.char(64 + i), 1000)
        end
        assert.are.equal(table.concat(expected), j.body)
    end)

    it("is sent as it is under the caller's Content-Length", function()
        local r = H.run(client, [[
            local pieces = {"abc", "defg"}
            local i = 0
            return view(http.request{url = "http://127.0.0.1:" .. arg.port .. "/echo-raw",
                method = "POST", headers = {["Content-Length"] = 7},
                body = function() i = i + 1; return pieces[i] end})
        ]], { port = faulty.port })
        assert.are.equal("POST /echo-raw HTTP/1.1\r\n"
            .. "Host: 127.0.0.1:" .. faulty.port .. "\r\n"
            .. "User-Agent: lunaserve/0.1.0\r\n"
            .. "Content-Length: 7\r\n\r\nabcdefg", r.body)
    end)

    it("fails when the pieces do not add up to the caller's Content-Length", function()
        local r = H.run(client, [[
            local function pieces(list)
                local i = 0
                return function() i = i + 1; return list[i] end
            end
            local url = "http://127.0.0.1:" .. arg.port .. "/echo"
            local _, short = http.request{url = url, method = "POST",
                headers = {["Content-Length"] = 10}, body = pieces({"abc"})}
            local _, long = http.request{url = url, method = "POST",
                headers = {["Content-Length"] = 2}, body = pieces({"abc"})}
            return {short = short, long = long}
        ]], { port = upstream.port })
        assert.are.equal("request body shorter than its Content-Length", r.short)
        assert.are.equal("request body longer than its Content-Length", r.long)
    end)

    it("stops with the function's error when it returns nil, err", function()
        local r = H.run(client, [[
            local n = 0
            return view(http.request{url = "http://127.0.0.1:" .. arg.port .. "/echo",
                method = "POST", body = function()
                    n = n + 1
                    if n == 1 then return "part" end
                    return nil, "source failed"
                end})
        ]], { port = upstream.port })
        assert.are.equal("request body: source failed", r.err)
    end)
end)
