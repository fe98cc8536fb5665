package admin_test

import (
	"net/http"
	"strings"
	"testing"
)

// FuzzPostAlert sends arbitrary bodies to POST /api/v1/alerts: each gets 202
// or a 400 with a JSON error, and the node keeps answering. Seeds are in
// testdata/fuzz/FuzzPostAlert as well as below.
func FuzzPostAlert(f *testing.F) {
	for _, seed := range []string{
		`{"severity":"critical","source":"ops","reason":"db down"}`,
		`{"severity":"info","source":"a","reason":"b","extra":1}`,
		`{"severity":"loud","source":"a","reason":"b"}`,
		`{`, `[]`, `null`, `""`, `{"severity":null}`, "\xff\xfe",
	} {
		f.Add(seed)
	}
	_, srv := setup(f)
	f.Fuzz(func(t *testing.T, body string) {
		resp, err := http.Post(srv.URL+"/api/v1/alerts", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted && resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("body %q: status %d", body, resp.StatusCode)
		}
		if resp.StatusCode == http.StatusBadRequest && resp.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("400 without a JSON error")
		}
	})
}
