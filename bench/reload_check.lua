-- wrk script for bench/reload_soak.sh: counts answers that are not one of the two versions.
local threads = {}

function setup(thread)
    table.insert(threads, thread)
end

function init(args)
    bad, good1, good2 = 0, 0, 0
end

function response(status, headers, body)
    if status == 200 and body == "version 1\n" then
        good1 = good1 + 1
    elseif status == 200 and body == "version 2\n" then
        good2 = good2 + 1
    else
        bad = bad + 1
    end
end

function done(summary, latency, requests)
    local bad, v1, v2 = 0, 0, 0
    for _, t in ipairs(threads) do
        bad, v1, v2 = bad + t:get("bad"), v1 + t:get("good1"), v2 + t:get("good2")
    end
    local e = summary.errors
    io.write(string.format("SOAK requests=%d version1=%d version2=%d other=%d connect=%d read=%d "
        .. "write=%d timeout=%d status=%d\n", summary.requests, v1, v2, bad, e.connect, e.read,
        e.write, e.timeout, e.status))
end
