-- wrk script: GET the same KV v2 paths the store_read_bench reads, round-robin, with the token.
-- Environment: BENCH_TOKEN, BENCH_PATHS (count), BENCH_PREFIX (e.g. "secret/data/bench/key-").
local token = os.getenv("BENCH_TOKEN")
local paths = tonumber(os.getenv("BENCH_PATHS") or "50")
local prefix = os.getenv("BENCH_PREFIX") or "secret/data/bench/key-"
local counter = 0

request = function()
  local path = "/v1/" .. prefix .. (counter % paths)
  counter = counter + 1
  return wrk.format("GET", path, {["X-Vault-Token"] = token, ["X-Vault-Request"] = "true"})
end
