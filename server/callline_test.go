package server

import (
	"bytes"
	"context"
	"log/slog"
	"testing"
	"time"
)

// TestCallLineMatchesSlog: the call log written directly is byte for byte
// what slog's handlers write for the same record.
func TestCallLineMatchesSlog(t *testing.T) {
	values := []string{"", "plain", "layers/5", "two words", "a=b", `quo"te`, `back\slash`, "tab\there", "new\nline",
		"ctrl\x01", "del\x7f", "עברית", "ü", "bad\xffutf8", "nbsp\u00a0", "sep\u2028", "<html>&", "******4567", "STATUS_1",
		"crm.example.com 200 12.3ms, crm.example.com error=timeout 450ms, +8 more", "crm_id=***,reason=open lead", "***"}
	nums := []float64{0, 0.001, 0.112, 1.5, 2950.4, 123456.789}
	times := []time.Time{time.Date(2026, 11, 25, 18, 41, 14, 648700559, time.UTC), time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("IST", 2*3600))}
	for i, v := range values {
		fields := []field{
			{key: "ivr_unique_id", str: v},
			{key: "layer", num: float64(i * 7), kind: intField},
			{key: "ms", num: nums[i%len(nums)], kind: floatField},
			{key: "error", str: v + " " + values[(i+1)%len(values)]},
		}
		for _, tm := range times {
			for _, level := range []slog.Level{slog.LevelInfo, slog.LevelWarn} {
				r := slog.NewRecord(tm, level, "call", 0)
				for _, f := range fields {
					r.AddAttrs(f.attr())
				}
				var text, js bytes.Buffer
				slog.NewTextHandler(&text, nil).Handle(context.Background(), r)
				slog.NewJSONHandler(&js, nil).Handle(context.Background(), r)
				if got := string(appendTextLine(nil, tm, level, fields)); got != text.String() {
					t.Errorf("text for %q:\n got %s\nwant %s", v, got, text.String())
				}
				if got := string(appendJSONLine(nil, tm, level, fields)); got != js.String() {
					t.Errorf("JSON for %q:\n got %s\nwant %s", v, got, js.String())
				}
			}
		}
	}
}
