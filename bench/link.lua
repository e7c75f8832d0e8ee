-- wrk script of bench/link.py: POST /chat/generate as the plugin sends it,
-- a new uuid per request (the remote's dedup cache never answers from memory),
-- with the router's bearer token.
local run = os.getenv("GRT_BENCH_RUN") or "run"
local token = os.getenv("GRT_BENCH_TOKEN") or ""
local counter = 0

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. token

request = function()
  counter = counter + 1
  local body = string.format(
    '{"uuid":"%s-%d","model":"mock_model","prompt":"bench %d","history":[]}', run, counter, counter)
  return wrk.format(nil, "/chat/generate", nil, body)
end
