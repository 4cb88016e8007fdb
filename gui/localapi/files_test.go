package localapi_test

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/gui/apitype"
	"github.com/parley-im/parley/gui/localapi"
)

// writeFile puts content in a new file of dir and returns its path.
func writeFile(t *testing.T, dir, name string, content []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, content, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// pngBytes is a small real PNG image.
func pngBytes(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	for i := range 8 {
		img.Set(i, i, color.RGBA{R: 200, A: 255})
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// upload posts body to the upload route with query.
func (h *harness) upload(query string, body io.Reader, size int64, edit ...func(*http.Request)) (*http.Response, []byte) {
	h.t.Helper()
	req, err := http.NewRequestWithContext(h.t.Context(), http.MethodPost, h.base+apitype.PathFileUpload+"?"+query, body)
	if err != nil {
		h.t.Fatal(err)
	}
	req.ContentLength = size
	req.Header.Set("Authorization", "Bearer "+h.token)
	for _, e := range edit {
		e(req)
	}
	resp, err := h.http.Do(req)
	if err != nil {
		h.t.Fatalf("upload: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// uploads lists what DATA/uploads holds, as paths relative to it.
func (h *harness) uploads() []string {
	h.t.Helper()
	var out []string
	root := filepath.Join(h.dir, "uploads")
	filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(root, path)
			out = append(out, rel)
		}
		return nil
	})
	return out
}

func TestFilesThroughClient(t *testing.T) {
	h := start(t)
	c := h.client()
	ctx := t.Context()

	content := randomBytes(3000)
	path := writeFile(t, t.TempDir(), "notes.txt", content)
	sent, err := c.SendFile(ctx, "alice", path)
	if err != nil || sent.Name != "notes.txt" || sent.Size != 3000 || !sent.Outgoing || sent.State != parley.FileOffered ||
		sent.FromName != "me" || sent.Path != path || sent.Conversation != parley.DMConversationID(selfID, aliceID) {
		t.Fatalf("SendFile: %+v, %v", sent, err)
	}

	// A relative path is made absolute by the client.
	t.Chdir(filepath.Dir(path))
	if again, err := c.SendFile(ctx, "bob", "notes.txt"); err != nil || again.Path != path {
		t.Fatalf("SendFile with a relative path: %+v, %v", again, err)
	}

	up, err := c.Upload(ctx, "bob", "photo.jpg", bytes.NewReader(content), int64(len(content)))
	if err != nil || up.Name != "photo.jpg" || up.Size != 3000 || !up.Outgoing {
		t.Fatalf("Upload: %+v, %v", up, err)
	}
	if got, err := os.ReadFile(up.Path); err != nil || !bytes.Equal(got, content) {
		t.Fatalf("the uploaded copy at %s differs (%v)", up.Path, err)
	}

	offered := h.node.offer(bobID, parley.File{ID: "0123456789abcdef0123456789abcdef", Name: "video.mp4", Size: 1 << 20})
	files, err := c.Files(ctx)
	if err != nil || len(files) != 4 || files[0].ID != offered.ID || files[0].FromName != "bob" || files[0].Outgoing {
		t.Fatalf("Files: %+v, %v", files, err)
	}
	got, err := c.File(ctx, offered.ID)
	if err != nil || got.Name != "video.mp4" || got.State != parley.FileOffered {
		t.Fatalf("File: %+v, %v", got, err)
	}
	accepted, err := c.AcceptFile(ctx, offered.ID)
	if err != nil || accepted.State != parley.FileTransferring {
		t.Fatalf("AcceptFile: %+v, %v", accepted, err)
	}
	cancelled, err := c.CancelFile(ctx, offered.ID)
	if err != nil || cancelled.State != parley.FileCanceled {
		t.Fatalf("CancelFile: %+v, %v", cancelled, err)
	}

	// Cancelling an uploaded offer deletes the copy: nothing serves it.
	if _, err := c.CancelFile(ctx, up.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Dir(up.Path)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the upload's folder is still there after cancel: %v", err)
	}
	// A file offered from where it lies is the user's: it stays.
	if _, err := c.CancelFile(ctx, sent.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("cancelling removed the user's own file: %v", err)
	}

	set, err := c.Settings(ctx)
	if err != nil || set.AutoAcceptBytes != 25<<20 || set.Downloads == "" {
		t.Fatalf("Settings: %+v, %v", set, err)
	}
	set, err = c.SetAutoAccept(ctx, 100<<20)
	if err != nil || set.AutoAcceptBytes != 100<<20 {
		t.Fatalf("SetAutoAccept: %+v, %v", set, err)
	}
	if set, err := c.SetAutoAccept(ctx, 0); err != nil || set.AutoAcceptBytes != -1 {
		t.Fatalf("SetAutoAccept(0): %+v, %v", set, err)
	}
	if _, err := c.SetAutoAccept(ctx, -2); !errors.Is(err, parley.ErrMalformed) {
		t.Errorf("SetAutoAccept(-2): %v, want ErrMalformed", err)
	}

	// Content through the client.
	h.node.setFile(sent.ID, func(f *parley.File) { f.State = parley.FileComplete })
	rc, err := c.FileContent(ctx, sent.ID)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(b, content) {
		t.Error("FileContent differs from the file")
	}
	if _, err := c.FileContent(ctx, offered.ID); err == nil {
		t.Error("FileContent of a cancelled file worked")
	}
}

func TestFileJSONFieldNames(t *testing.T) {
	h := start(t)
	path := writeFile(t, t.TempDir(), "a.txt", []byte("hello"))
	resp, body := h.do(http.MethodPost, apitype.PathFiles, `{"to":"alice","path":"`+path+`"}`)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST files: %d %s", resp.StatusCode, body)
	}
	wantKeys(t, body, "id", "conversation", "message", "name", "size", "media_type", "from", "from_name",
		"outgoing", "state", "bytes_done", "path")
	var f apitype.FileView
	json.Unmarshal(body, &f)
	h.node.setFile(f.ID, func(f *parley.File) {
		f.State, f.BytesDone, f.ServedBytes, f.Error = parley.FileFailed, 5, 7, "the disk is full"
	})
	_, body = h.do(http.MethodGet, "/api/v1/files/"+f.ID, "")
	wantKeys(t, body, "id", "conversation", "message", "name", "size", "media_type", "from", "from_name",
		"outgoing", "state", "bytes_done", "path", "error", "served_bytes")

	_, body = h.do(http.MethodGet, apitype.PathSettings, "")
	wantKeys(t, body, "auto_accept_bytes", "downloads", "public_dht", "mailbox_service", "mailbox_service_at_start",
		"typing_indicators", "last_seen", "read_receipts")
}

// A file offer shows in its conversation as a message of kind "file",
// named by its file ID.
func TestFileMessageView(t *testing.T) {
	h := start(t)
	m := h.node.receive(aliceID, "holiday.jpg")
	h.node.editMessage(m.ID, func(m *parley.Message) {
		m.Kind, m.FileID = parley.KindFile, "00112233445566778899aabbccddeeff"
	})
	msgs, err := h.client().Messages(t.Context(), "alice", parley.Page{}, false)
	if err != nil || len(msgs) != 1 || msgs[0].ID != m.ID || msgs[0].Kind != parley.KindFile ||
		msgs[0].FileID != "00112233445566778899aabbccddeeff" || msgs[0].Text != "holiday.jpg" {
		t.Fatalf("messages: %+v, %v", msgs, err)
	}
}

func TestFileRoutesNeedAuth(t *testing.T) {
	h := start(t)
	path := writeFile(t, t.TempDir(), "a.txt", []byte("hello"))
	f := h.node.offer(aliceID, parley.File{ID: "00112233445566778899aabbccddeeff", Name: "a.txt", Size: 5,
		State: parley.FileComplete, Path: path})
	routes := []struct{ method, path, body string }{
		{http.MethodGet, apitype.PathFiles, ""},
		{http.MethodPost, apitype.PathFiles, `{"to":"alice","path":"` + path + `"}`},
		{http.MethodPost, apitype.PathFileUpload + "?to=alice&name=x", "some bytes"},
		{http.MethodGet, "/api/v1/files/" + f.ID, ""},
		{http.MethodPost, "/api/v1/files/" + f.ID + "/accept", ""},
		{http.MethodPost, "/api/v1/files/" + f.ID + "/cancel", ""},
		{http.MethodGet, "/api/v1/files/" + f.ID + "/content", ""},
		{http.MethodGet, "/api/v1/files/" + f.ID + "/content?inline=1", ""},
		{http.MethodGet, apitype.PathSettings, ""},
		{http.MethodPut, apitype.PathSettings, `{"auto_accept_bytes":1}`},
	}
	for _, rt := range routes {
		t.Run(rt.method+" "+rt.path, func(t *testing.T) {
			resp, body := h.do(rt.method, rt.path, rt.body, noAuth)
			wantError(t, resp, body, http.StatusUnauthorized, apitype.CodeUnauthorized)
			resp, body = h.do(rt.method, rt.path, rt.body, header("Origin", "http://evil.example"))
			wantError(t, resp, body, http.StatusForbidden, apitype.CodeForbidden)
			resp, body = h.do(rt.method, rt.path, rt.body, header("Sec-Fetch-Site", "cross-site"))
			wantError(t, resp, body, http.StatusForbidden, apitype.CodeForbidden)
		})
	}
	files, _ := h.node.Files(t.Context())
	if len(files) != 1 || files[0].State != parley.FileComplete || len(h.uploads()) != 0 ||
		h.node.Settings(t.Context()).AutoAcceptBytes != 25<<20 {
		t.Errorf("a refused request changed something: files %+v, uploads %v", files, h.uploads())
	}
}

func TestFileErrors(t *testing.T) {
	h := start(t)
	dir := t.TempDir()
	path := writeFile(t, dir, "a.txt", []byte("hello"))
	unknown := "/api/v1/files/ffeeddccbbaa99887766554433221100"
	tests := []struct {
		name, method, path, body string
		status                   int
		code, message            string
	}{
		{"unknown file", http.MethodGet, unknown, "", 404, apitype.CodeNotFound, `not found: no file "ffeeddccbbaa99887766554433221100"`},
		{"accept unknown", http.MethodPost, unknown + "/accept", "", 404, apitype.CodeNotFound, ""},
		{"cancel unknown", http.MethodPost, unknown + "/cancel", "", 404, apitype.CodeNotFound, ""},
		{"content of unknown", http.MethodGet, unknown + "/content", "", 404, apitype.CodeNotFound, ""},
		{"no recipient", http.MethodPost, apitype.PathFiles, `{"path":"` + path + `"}`, 400, apitype.CodeBadRequest, ""},
		{"no path", http.MethodPost, apitype.PathFiles, `{"to":"alice"}`, 400, apitype.CodeBadRequest, ""},
		{"relative path", http.MethodPost, apitype.PathFiles, `{"to":"alice","path":"a.txt"}`, 400, apitype.CodeBadRequest, "a.txt is not an absolute path"},
		{"missing file", http.MethodPost, apitype.PathFiles, `{"to":"alice","path":"` + dir + `/nope.txt"}`, 404, apitype.CodeNotFound, "no such file: " + dir + "/nope.txt"},
		{"folder", http.MethodPost, apitype.PathFiles, `{"to":"alice","path":"` + dir + `"}`, 400, apitype.CodeBadRequest, dir + " is a folder, not a file"},
		{"unknown recipient", http.MethodPost, apitype.PathFiles, `{"to":"carol","path":"` + path + `"}`, 404, "unknown_contact", `unknown contact: no contact or group called "carol"`},
		{"unknown field", http.MethodPost, apitype.PathFiles, `{"to":"alice","path":"` + path + `","bcc":"eve"}`, 400, apitype.CodeBadRequest, ""},
		{"settings with nothing to change", http.MethodPut, apitype.PathSettings, `{}`, 400, apitype.CodeBadRequest, ""},
		{"settings below -1", http.MethodPut, apitype.PathSettings, `{"auto_accept_bytes":-5}`, 400, "malformed", ""},
		{"settings not a number", http.MethodPut, apitype.PathSettings, `{"auto_accept_bytes":"25MB"}`, 400, apitype.CodeBadRequest, ""},
		{"upload is POST only", http.MethodGet, apitype.PathFileUpload, "", 405, apitype.CodeMethod, "GET not allowed here; use POST"},
		{"a file is read with GET", http.MethodPut, "/api/v1/files/x", "", 405, apitype.CodeMethod, ""},
		{"settings are not deleted", http.MethodDelete, apitype.PathSettings, "", 405, apitype.CodeMethod, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := h.do(tt.method, tt.path, tt.body)
			e := wantError(t, resp, body, tt.status, tt.code)
			if tt.message != "" && e.Message != tt.message {
				t.Errorf("message %q, want %q", e.Message, tt.message)
			}
		})
	}
	// The node's own refusal of an offer it cannot fetch.
	big := h.node.offer(aliceID, parley.File{ID: "00112233445566778899aabbccddeeff", Name: "huge.iso", Size: 2 << 40})
	resp, body := h.do(http.MethodPost, "/api/v1/files/"+big.ID+"/accept", "")
	wantError(t, resp, body, http.StatusInsufficientStorage, "no_space")
	if _, err := h.client().AcceptFile(t.Context(), big.ID); !errors.Is(err, parley.ErrNoSpace) {
		t.Errorf("the client's error %v does not unwrap to ErrNoSpace", err)
	}
}

// An upload goes to disk as it arrives, whatever its size; names cannot
// leave DATA/uploads; the general body cap does not apply, its own does.
func TestUpload(t *testing.T) {
	h := startServer(t, t.TempDir(), newFakeNode(), localapi.Config{MaxUploadBytes: 4 << 20})

	// Streamed: the first MiB is on disk before the rest is even sent.
	pr, pw := io.Pipe()
	content := randomBytes(3 << 20)
	done := make(chan struct{})
	var resp *http.Response
	var body []byte
	go func() {
		defer close(done)
		resp, body = h.upload("to=alice&name="+url.QueryEscape("../../etc/pass\u202ewd"), pr, -1)
	}()
	if _, err := pw.Write(content[:1<<20]); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if ups := h.uploads(); len(ups) == 1 {
			if st, err := os.Stat(filepath.Join(h.dir, "uploads", ups[0])); err == nil && st.Size() >= 1<<20 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the first MiB never reached the disk while the upload went on")
		}
		time.Sleep(5 * time.Millisecond)
	}
	pw.Write(content[1<<20:])
	pw.Close()
	<-done
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("upload: %d %s", resp.StatusCode, body)
	}
	var f apitype.FileView
	if err := json.Unmarshal(body, &f); err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(filepath.Join(h.dir, "uploads"), f.Path)
	if err != nil || strings.HasPrefix(rel, "..") || filepath.Base(rel) != "passwd" || len(strings.Split(rel, string(filepath.Separator))) != 2 {
		t.Fatalf("saved at %s (%s): want DATA/uploads/RANDOM/passwd", f.Path, rel)
	}
	if got, _ := os.ReadFile(f.Path); !bytes.Equal(got, content) {
		t.Fatal("the upload was not saved intact")
	}
	if st, _ := os.Stat(f.Path); st.Mode().Perm() != 0o600 {
		t.Errorf("upload mode %v, want 0600", st.Mode().Perm())
	}

	// Over the cap, told up front or found out on the way: 413 and nothing
	// left behind.
	over := randomBytes(4<<20 + 1)
	resp, body = h.upload("to=alice&name=big.bin", bytes.NewReader(over), int64(len(over)))
	wantError(t, resp, body, http.StatusRequestEntityTooLarge, apitype.CodeTooLarge)
	resp, body = h.upload("to=alice&name=big.bin", io.MultiReader(bytes.NewReader(over)), -1)
	wantError(t, resp, body, http.StatusRequestEntityTooLarge, apitype.CodeTooLarge)
	if ups := h.uploads(); len(ups) != 1 {
		t.Errorf("uploads after refusals: %v", ups)
	}

	// No recipient, or an unknown one: refused before anything is saved.
	for _, tt := range []struct {
		query, code string
	}{
		{"name=x", apitype.CodeBadRequest},
		{"to=&name=x", apitype.CodeBadRequest},
		{"to=%20&name=x", apitype.CodeBadRequest},
		{"to=carol&name=x", "unknown_contact"},
	} {
		resp, body = h.upload(tt.query, strings.NewReader("0123456789"), 10)
		if resp.StatusCode != http.StatusBadRequest && resp.StatusCode != http.StatusNotFound {
			t.Errorf("upload ?%s: %d %s", tt.query, resp.StatusCode, body)
		}
		wantError(t, resp, body, resp.StatusCode, tt.code)
	}
	// The node refuses the offer: the copy goes.
	resp, body = h.upload("to=alice&name=boom", strings.NewReader("x"), 1)
	wantError(t, resp, body, http.StatusInternalServerError, apitype.CodeInternal)
	// A foreign page cannot upload.
	resp, body = h.upload("to=alice&name=x", strings.NewReader("x"), 1, header("Origin", "http://evil.example"))
	wantError(t, resp, body, http.StatusForbidden, apitype.CodeForbidden)
	if ups := h.uploads(); len(ups) != 1 {
		t.Errorf("uploads after refusals: %v", ups)
	}

	// A name that is nothing but dots, and an empty file, to a group.
	h.node.addGroup("team", parley.GroupJoined, parley.RoleAdmin, aliceID)
	resp, body = h.upload("to=team&name=..", http.NoBody, 0)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("empty upload: %d %s", resp.StatusCode, body)
	}
	json.Unmarshal(body, &f)
	if filepath.Base(f.Path) != "file" || f.Size != 0 {
		t.Errorf("empty upload named %q: %+v", filepath.Base(f.Path), f)
	}
}

// The bytes of a complete file: an attachment, never sniffed; inline only
// for the images a browser can preview safely.
func TestFileContent(t *testing.T) {
	h := start(t)
	dir := t.TempDir()
	pngData := pngBytes(t)
	html := []byte("<!doctype html><script>alert(1)</script>")
	svg := []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`)
	files := map[string]parley.File{}
	for i, f := range []struct {
		name, mediaType string
		content         []byte
		state           parley.FileState
	}{
		{"Fotó \"1\".png", "image/png", pngData, parley.FileComplete},
		{"page.html", "text/html", html, parley.FileComplete},
		{"drawing.svg", "image/svg+xml", svg, parley.FileComplete},
		{"fake.png", "image/png", html, parley.FileComplete}, // the sender lies
		{"half.bin", "application/octet-stream", randomBytes(100), parley.FileTransferring},
		{"gone.txt", "text/plain", []byte("x"), parley.FileComplete},
	} {
		path := writeFile(t, dir, f.name, f.content)
		id := strings.Repeat(string(rune('a'+i)), 32)
		files[f.name] = h.node.offer(aliceID, parley.File{ID: id, Name: f.name, Size: int64(len(f.content)),
			MediaType: f.mediaType, State: f.state, Path: path})
	}
	os.Remove(files["gone.txt"].Path)
	content := func(name, query string, edit ...func(*http.Request)) (*http.Response, []byte) {
		return h.do(http.MethodGet, "/api/v1/files/"+files[name].ID+"/content"+query, "", edit...)
	}

	resp, body := content("Fotó \"1\".png", "")
	if resp.StatusCode != http.StatusOK || !bytes.Equal(body, pngData) {
		t.Fatalf("content: %d, %d bytes", resp.StatusCode, len(body))
	}
	for k, want := range map[string]string{
		"Content-Type":           "application/octet-stream",
		"Content-Disposition":    `attachment; filename="Fot_ _1_.png"; filename*=UTF-8''Fot%C3%B3%20%221%22.png`,
		"X-Content-Type-Options": "nosniff",
		"Accept-Ranges":          "bytes",
	} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "sandbox") || !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("CSP of a file's bytes: %q", csp)
	}
	resp, body = content("Fotó \"1\".png", "?inline=1")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/png" ||
		!strings.HasPrefix(resp.Header.Get("Content-Disposition"), "inline; ") || !bytes.Equal(body, pngData) {
		t.Errorf("inline PNG: %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Content-Disposition"))
	}
	// Ranges, for resuming a download or seeking in a video.
	resp, body = content("Fotó \"1\".png", "", header("Range", "bytes=1-3"))
	if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(body, pngData[1:4]) {
		t.Errorf("range: %d %q", resp.StatusCode, body)
	}

	// HTML and SVG are never served as themselves.
	for _, name := range []string{"page.html", "drawing.svg", "fake.png"} {
		resp, body = content(name, "")
		if resp.StatusCode != http.StatusOK || len(body) == 0 || resp.Header.Get("Content-Type") != "application/octet-stream" ||
			!strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment; ") {
			t.Errorf("%s: %d %q %q", name, resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Content-Disposition"))
		}
		resp, body = content(name, "?inline=1")
		wantError(t, resp, body, http.StatusBadRequest, apitype.CodeBadRequest)
	}
	resp, body = content("Fotó \"1\".png", "?inline=maybe")
	wantError(t, resp, body, http.StatusBadRequest, apitype.CodeBadRequest)

	// Only once complete; and only while the file is there.
	resp, body = content("half.bin", "")
	wantError(t, resp, body, http.StatusConflict, apitype.CodeNotComplete)
	resp, body = content("gone.txt", "")
	wantError(t, resp, body, http.StatusNotFound, apitype.CodeNotFound)

	// A browser session reads it as the API token does.
	c := h.login(t)
	resp, body = content("Fotó \"1\".png", "?inline=1", h.cookie(c), header("Sec-Fetch-Site", "same-origin"))
	if resp.StatusCode != http.StatusOK || !bytes.Equal(body, pngData) {
		t.Errorf("with a session cookie: %d", resp.StatusCode)
	}
}

func TestFileEvents(t *testing.T) {
	h := start(t)
	ev, err := h.client().Events(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer ev.Close()
	awaitSubscribed(t, h.node)
	raw, _, err := websocket.Dial(t.Context(), "ws://"+h.host+apitype.PathEvents, &websocket.DialOptions{
		HTTPClient: h.http, HTTPHeader: http.Header{"Authorization": {"Bearer " + h.token}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer raw.CloseNow()
	awaitSubscribed(t, h.node)

	f := h.node.offer(aliceID, parley.File{ID: "00112233445566778899aabbccddeeff", Name: "a.bin", Size: 10,
		State: parley.FileTransferring, BytesDone: 4})
	h.node.publish(parley.Event{Type: parley.EventFile, File: &f})
	got := next(t, ev)
	if got.Type != parley.EventFile || got.File == nil || got.File.ID != f.ID || got.File.BytesDone != 4 ||
		got.File.FromName != "alice" || got.Message != nil || got.Group != nil {
		t.Errorf("file event %+v (file %+v)", got, got.File)
	}
	_, frame, err := raw.Read(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	wantKeys(t, frame, "type", "file")
}
