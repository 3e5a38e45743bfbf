package main

import (
	"testing"
	"time"
)

// Captured from wrk 4.1.0 (Debian) against ivrouter on this project's workload.
const wrkClean = `Running 3s test @ http://127.0.0.1:18080/
  1 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     7.64ms   11.78ms  85.29ms   91.50%
    Req/Sec    13.52k     5.88k   25.58k    73.33%
  Latency Distribution
     50%    3.93ms
     75%    7.29ms
     90%   16.45ms
     99%   64.10ms
  40673 requests in 3.06s, 6.67MB read
Requests/sec:  13306.46
Transfer/sec:      2.18MB
`

// Captured with a bad request body and the server killed halfway; the 50% and
// 99% lines are edited to cover wrk's us and s units.
const wrkErrors = `Running 3s test @ http://127.0.0.1:18080/
  1 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    15.31ms   32.99ms 216.87ms   90.45%
    Req/Sec     9.48k     7.12k   21.94k    50.00%
  Latency Distribution
     50%  812.00us
     75%    7.68ms
     90%   47.34ms
     99%    1.18s
  13743 requests in 3.10s, 2.63MB read
  Socket errors: connect 0, read 64, write 37027, timeout 0
  Non-2xx or 3xx responses: 13743
Requests/sec:   4432.37
Transfer/sec:    870.03KB
`

func TestParseWrk(t *testing.T) {
	for _, tc := range []struct {
		name string
		out  string
		want wrkResult
	}{
		{"clean", wrkClean, wrkResult{Requests: 40673, RPS: 13306.46,
			P50: 3930 * time.Microsecond, P99: 64100 * time.Microsecond}},
		{"errors", wrkErrors, wrkResult{Requests: 13743, RPS: 4432.37,
			P50: 812 * time.Microsecond, P99: 1180 * time.Millisecond, Non2xx: 13743, SockErrors: 37091}},
	} {
		got, err := parseWrk(tc.out)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got != tc.want {
			t.Errorf("%s: got %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func TestParseWrkWithoutLatency(t *testing.T) {
	if _, err := parseWrk("Requests/sec:  100.00\n"); err == nil {
		t.Error("want an error for output without --latency")
	}
}

func TestTook(t *testing.T) {
	line := `time=2026-11-25T18:35:57.669Z level=INFO msg="scripts reloaded" dir=/tmp/x version=6dcd3c726c4d scripts=200 took=41.337ms`
	if d, ok := took(line); !ok || d != 41337*time.Microsecond {
		t.Errorf("took(%q) = %v, %v", line, d, ok)
	}
	if d, ok := took(`msg="scripts reloaded" took=850µs`); !ok || d != 850*time.Microsecond {
		t.Errorf("took µs = %v, %v", d, ok)
	}
}
