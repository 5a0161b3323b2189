-- lunaserve.http works wherever the cosocket does: in a timer's call, and while the app loads.
local H = require("spec.support.http_client")
local S = require("spec.support.server")
local cjson = require("cjson")

describe("http client outside a handler", function()
    local client, upstream

    lazy_setup(function()
        upstream = H.start_upstream()
        client = H.start_client({ env = { HTTP_CLIENT_LOAD_URL = "http://127.0.0.1:"
            .. upstream.port .. "/echo/at-load" } })
    end)

    lazy_teardown(function()
        H.stop_all(client, upstream)
    end)

    it("makes a request while the app loads", function()
        local r = H.run(client, [[ return at_load ]])
        assert.are.equal(200, r.status)
        assert.are.equal("/echo/at-load", cjson.decode(r.body).path)
    end)

    it("makes a request in a timer's call", function()
        local started = H.run(client, [[
            _G.timer_result = nil
            return {lunaserve.timer.at(0.05, function(premature, url)
                local res, err = http.request{url = url, timeout = 3000}
                _G.timer_result = view(res, err)
            end, "http://127.0.0.1:" .. arg.port .. "/echo/from-timer")}
        ]], { port = upstream.port })
        assert.are.same({ true }, started)
        local r
        S.wait_for(function()
            r = H.run(client, [[ return _G.timer_result or {} ]])
            return r.status ~= nil
        end, 3, 0.05)
        assert.are.equal(200, r.status)
        assert.are.equal("/echo/from-timer", cjson.decode(r.body).path)
    end)
end)
