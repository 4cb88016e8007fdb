package localapi_test

import (
	"io"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/parley-im/parley/gui/apitype"
)

// POST /api/v1/backup streams the node's backup as a download, from JSON
// (the CLI) or from a form (the GUI), and refuses an empty or mistyped
// passphrase before asking the node for anything.
func TestBackupDownload(t *testing.T) {
	h := start(t)
	form := func(r *http.Request) { r.Header.Set("Content-Type", "application/x-www-form-urlencoded") }
	for _, c := range []struct {
		name, body string
		edit       func(*http.Request)
		status     int
		want       string // the body of a 200
	}{
		{"json", `{"passphrase":"pw one"}`, func(*http.Request) {}, 200, `backup sealed with "pw one"`},
		{"form", url.Values{"passphrase": {"pw two"}, "confirm": {"pw two"}}.Encode(), form, 200, `backup sealed with "pw two"`},
		{"form without confirm", url.Values{"passphrase": {"pw"}}.Encode(), form, 200, `backup sealed with "pw"`},
		{"mistyped", url.Values{"passphrase": {"pw"}, "confirm": {"pv"}}.Encode(), form, 400, ""},
		{"empty form", "", form, 400, ""},
		{"empty json", `{"passphrase":""}`, func(*http.Request) {}, 400, ""},
		{"unknown field", `{"passphrase":"pw","pass":"x"}`, func(*http.Request) {}, 400, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			h.node.fakeKeystore.mu.Lock()
			before := h.node.backups
			h.node.fakeKeystore.mu.Unlock()
			resp, body := h.do("POST", apitype.PathBackup, c.body, c.edit)
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, c.status, body)
			}
			h.node.fakeKeystore.mu.Lock()
			called := h.node.backups - before
			h.node.fakeKeystore.mu.Unlock()
			if c.status != 200 {
				if called != 0 {
					t.Fatal("the node was asked for a backup")
				}
				return
			}
			if string(body) != c.want {
				t.Fatalf("body %q, want %q", body, c.want)
			}
			if ct := resp.Header.Get("Content-Type"); ct != apitype.BackupContentType {
				t.Errorf("Content-Type %q", ct)
			}
			disp, params, err := mime.ParseMediaType(resp.Header.Get("Content-Disposition"))
			if err != nil || disp != "attachment" || !regexp.MustCompile(`^parley-backup-\d{4}-\d\d-\d\d\.age$`).MatchString(params["filename"]) {
				t.Errorf("Content-Disposition %q (%v)", resp.Header.Get("Content-Disposition"), err)
			}
		})
	}
}

// A backup that fails after it began (the status is sent) cuts the
// connection: the client gets a read error, never a short body that looks
// like a whole backup.
func TestBackupFailingMidwayCutsTheConnection(t *testing.T) {
	h := start(t)
	h.node.fakeKeystore.mu.Lock()
	h.node.backupFails = true
	h.node.fakeKeystore.mu.Unlock()
	req, err := http.NewRequestWithContext(t.Context(), "POST", h.base+apitype.PathBackup, strings.NewReader(`{"passphrase":"pw"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+h.token)
	resp, err := h.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if b, err := io.ReadAll(resp.Body); err == nil {
		t.Fatalf("status %d and the whole body without error: %q", resp.StatusCode, b)
	}
}

// A page of another site cannot have a logged-in browser post the form.
func TestBackupRefusesForeignForms(t *testing.T) {
	h := start(t)
	resp, body := h.do("POST", apitype.PathBackup, "passphrase=pw", func(r *http.Request) {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("Origin", "https://evil.example")
		r.Header.Set("Sec-Fetch-Site", "cross-site")
	})
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("status %d, want 403: %s", resp.StatusCode, body)
	}
	h.node.fakeKeystore.mu.Lock()
	defer h.node.fakeKeystore.mu.Unlock()
	if h.node.backups != 0 {
		t.Fatal("the node was asked for a backup")
	}
}
