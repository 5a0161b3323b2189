-- Issue 12, "make run": it installs only what building and running need; the test and fuzz
-- toolchain (clang, libclang-rt, busted, the services) is for `make test`, which still
-- installs all of it. Read from what make would run (`make -n`), nothing is installed.

local S = require("spec.support.server")

-- The packages of the first bench/deps.sh line `make -n TARGET` prints, as a set.
local function deps_of(target)
    local p = assert(io.popen("make -s -n -C " .. S.shquote(S.root) .. " " .. target
        .. " 2>&1"))
    local text = p:read("a")
    p:close()
    local line = text:match("sh bench/deps%.sh ([^\n]*)")
    assert(line, "no deps.sh line in `make -n " .. target .. "`:\n" .. text)
    local set = {}
    for name in line:gmatch("%S+") do
        set[name] = true
    end
    return set, line
end

describe("make's dependencies", function()
    it("make run installs what running needs and no test tools", function()
        local run, line = deps_of("run")
        for _, need in ipairs({ "gcc", "cmake", "pkg-config", "liblua5.4-dev", "libuv1-dev",
            "node-llhttp", "libpq-dev" }) do
            assert.is_true(run[need] == true, need .. " missing from: " .. line)
        end
        for _, test_only in ipairs({ "clang", "libclang-rt-14-dev", "lua-busted", "lua-socket",
            "redis-server", "postgresql", "wrk" }) do
            assert.is_nil(run[test_only], test_only .. " in make run's: " .. line)
        end
    end)

    it("make test installs the test toolchain and the services", function()
        local test, line = deps_of("test")
        for _, need in ipairs({ "gcc", "cmake", "libpq-dev", "clang", "libclang-rt-14-dev",
            "lua5.4", "lua-busted", "lua-socket", "redis-server", "lua-nginx-redis",
            "postgresql", "curl" }) do
            assert.is_true(test[need] == true, need .. " missing from: " .. line)
        end
    end)
end)
