package localapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"unicode"
	"unicode/utf8"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/gui/apitype"
)

// The file endpoints. A file offered from the CLI is read where it lies
// (POST /api/v1/files with its path); a browser cannot give a path, so it
// uploads the bytes, which are kept under DATA/uploads and served from
// there until the offer is cancelled.

// uploadsDir is the folder under the data dir that holds uploaded files,
// one random folder per upload so that names never clash.
const uploadsDir = "uploads"

// inlineTypes are the only types a file's bytes are served as, and only
// with ?inline=1 (image previews): never HTML or SVG, which could run
// script in the API's origin.
var inlineTypes = []string{"image/png", "image/jpeg", "image/gif", "image/webp"}

// contentCSP replaces the app's policy on a file's bytes: nothing in them
// may run, even when a user opens the URL in a tab.
const contentCSP = "default-src 'none'; img-src 'self'; sandbox; frame-ancestors 'none'"

func (s *Server) handleFiles(w http.ResponseWriter, r *http.Request) {
	files, err := s.files.Files(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	n := s.newNamer(r.Context())
	views := make([]apitype.FileView, 0, len(files))
	for _, f := range files {
		views = append(views, n.fileView(f))
	}
	writeJSON(w, http.StatusOK, views)
}

// handleSendFile offers a file that is already on the node's disk. The
// path must be absolute: the node cannot know which folder a relative one
// meant. Missing files and folders are refused here, in plain words,
// before the node tries to read them.
func (s *Server) handleSendFile(w http.ResponseWriter, r *http.Request) {
	var req apitype.SendFileRequest
	if err := decodeBody(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	to := strings.TrimSpace(req.To)
	switch {
	case to == "":
		s.fail(w, r, badRequest("no recipient given: pass a contact or a group"))
		return
	case req.Path == "":
		s.fail(w, r, badRequest("no file given: pass its path"))
		return
	case !filepath.IsAbs(req.Path):
		s.fail(w, r, badRequest(fmt.Sprintf("%s is not an absolute path", req.Path)))
		return
	}
	if err := checkReadable(req.Path); err != nil {
		s.fail(w, r, err)
		return
	}
	f, err := s.files.SendFile(r.Context(), to, req.Path)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, s.newNamer(r.Context()).fileView(f))
}

// checkReadable refuses a path that is not a regular file we can open.
func checkReadable(path string) error {
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return &apitype.Error{Status: http.StatusNotFound, Code: apitype.CodeNotFound, Message: "no such file: " + path}
	case errors.Is(err, fs.ErrPermission):
		return badRequest("cannot read " + path + ": permission denied")
	case err != nil:
		return badRequest("cannot read " + path)
	case st.IsDir():
		return badRequest(path + " is a folder, not a file")
	case !st.Mode().IsRegular():
		return badRequest(path + " is not a regular file")
	}
	f, err := os.Open(path)
	if err != nil {
		return badRequest("cannot read " + path + ": permission denied")
	}
	return f.Close()
}

// handleUpload offers the request's body as a file named ?name= to ?to=.
// The body is streamed to DATA/uploads/RANDOM/NAME, never held in memory,
// and capped at maxUpload; whatever fails on the way leaves nothing
// behind. The recipient is checked before the first byte is read, so a
// typo does not cost a long upload.
func (s *Server) handleUpload(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	to := strings.TrimSpace(q.Get("to"))
	if to == "" {
		s.fail(w, r, badRequest("no recipient given: pass ?to= a contact or a group"))
		return
	}
	if r.ContentLength > s.maxUpload {
		s.fail(w, r, tooLarge(s.maxUpload))
		return
	}
	if err := s.checkRecipient(r.Context(), to); err != nil {
		s.fail(w, r, err)
		return
	}
	path, err := s.saveUpload(w, r, uploadName(q.Get("name")))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f, err := s.files.SendFile(r.Context(), to, path)
	if err != nil {
		s.removeUpload(path)
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, s.newNamer(r.Context()).fileView(f))
}

func tooLarge(limit int64) error {
	return &apitype.Error{Status: http.StatusRequestEntityTooLarge, Code: apitype.CodeTooLarge,
		Message: fmt.Sprintf("file too large (limit %d bytes)", limit)}
}

// checkRecipient refuses a name that is neither a contact nor a group. The
// node resolves the recipient for real, but only once the upload is on
// disk: this early look spares a typo a long upload, and says yes
// whenever the node might.
func (s *Server) checkRecipient(ctx context.Context, to string) error {
	if _, err := s.messages.Resolve(ctx, to); !errors.Is(err, parley.ErrUnknownContact) {
		return nil
	}
	gs, err := s.groups.Groups(ctx)
	if err != nil {
		return nil
	}
	if slices.ContainsFunc(gs, func(g parley.Group) bool { return g.ID.String() == to || g.Name == to }) {
		return nil
	}
	return fmt.Errorf("%w: no contact or group called %q", parley.ErrUnknownContact, to)
}

// saveUpload writes the body to a fresh folder under DATA/uploads and
// returns the file's path. The file is synced before the offer that
// points at it is made.
func (s *Server) saveUpload(w http.ResponseWriter, r *http.Request, name string) (path string, err error) {
	if err := os.MkdirAll(s.uploads, 0o700); err != nil {
		return "", fmt.Errorf("uploads folder: %w", err)
	}
	dir, err := os.MkdirTemp(s.uploads, "")
	if err != nil {
		return "", fmt.Errorf("uploads folder: %w", err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dir)
		}
	}()
	path = filepath.Join(dir, name)
	out, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", fmt.Errorf("upload: %w", err)
	}
	body := &bodyReader{r: http.MaxBytesReader(w, r.Body, s.maxUpload)}
	_, err = io.Copy(out, body)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	var tooBig *http.MaxBytesError
	switch {
	case err == nil:
		return path, nil
	case errors.As(err, &tooBig):
		return "", tooLarge(tooBig.Limit)
	case body.err != nil:
		return "", badRequest("the upload broke off before its end")
	case errors.Is(err, syscall.ENOSPC):
		return "", fmt.Errorf("%w: the upload does not fit on the node's disk", parley.ErrNoSpace)
	}
	return "", fmt.Errorf("upload: %w", err)
}

// bodyReader remembers a read error, to tell a client that broke off from
// a disk that failed.
type bodyReader struct {
	r   io.Reader
	err error
}

func (b *bodyReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF {
		b.err = err
	}
	return n, err
}

// removeUpload deletes an uploaded file and its folder; paths outside
// DATA/uploads are left alone.
func (s *Server) removeUpload(path string) {
	dir := filepath.Dir(path)
	if filepath.Dir(dir) != s.uploads {
		return
	}
	if err := os.RemoveAll(dir); err != nil {
		s.log.Warn("removing an upload", "path", path, "err", err)
	}
}

// uploadName turns the name a browser gave into one plain file name: no
// folders, no "." or "..", no control or bidi characters, no leading dot,
// at most 200 bytes; "file" when nothing is left. The node cleans the name
// again for the offer; this one only has to be safe on our own disk.
func uploadName(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		if r == utf8.RuneError || unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) {
			return -1
		}
		return r
	}, name)
	name = strings.TrimLeft(strings.TrimSpace(name), ".")
	for len(name) > 200 {
		_, size := utf8.DecodeLastRuneInString(name)
		name = name[:len(name)-size]
	}
	if name == "" {
		return "file"
	}
	return name
}

func (s *Server) handleFile(w http.ResponseWriter, r *http.Request) {
	f, err := s.files.File(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.newNamer(r.Context()).fileView(f))
}

func (s *Server) handleAcceptFile(w http.ResponseWriter, r *http.Request) {
	f, err := s.files.AcceptFile(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.newNamer(r.Context()).fileView(f))
}

// handleCancelFile cancels a transfer; an offer of ours that was uploaded
// through the API is deleted with it, as nothing serves it any more.
func (s *Server) handleCancelFile(w http.ResponseWriter, r *http.Request) {
	f, err := s.files.CancelFile(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if f.Outgoing && f.Path != "" {
		s.removeUpload(f.Path)
	}
	writeJSON(w, http.StatusOK, s.newNamer(r.Context()).fileView(f))
}

// handleFileContent serves a complete file: the verified copy of a file
// we received, the original of one we offered. It is always an attachment
// of type application/octet-stream, except that ?inline=1 shows a PNG,
// JPEG, GIF or WebP image as itself, for previews, when both its offer and
// its first bytes say it is one. Ranges work (http.ServeContent).
func (s *Server) handleFileContent(w http.ResponseWriter, r *http.Request) {
	inline := false
	if v := r.URL.Query().Get("inline"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			s.fail(w, r, badRequest("inline must be 1 or 0"))
			return
		}
		inline = b
	}
	f, err := s.files.File(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if f.State != parley.FileComplete {
		s.fail(w, r, &apitype.Error{Status: http.StatusConflict, Code: apitype.CodeNotComplete,
			Message: fmt.Sprintf("%s is not complete (%s, %d of %d bytes)", f.Name, f.State, f.BytesDone, f.Size)})
		return
	}
	file, err := os.Open(f.Path)
	if err != nil {
		s.log.Info("a complete file cannot be read", "file", f.ID, "err", err)
		s.fail(w, r, &apitype.Error{Status: http.StatusNotFound, Code: apitype.CodeNotFound,
			Message: fmt.Sprintf("%s is no longer at %s", f.Name, f.Path)})
		return
	}
	defer file.Close()
	st, err := file.Stat()
	if err != nil || !st.Mode().IsRegular() {
		s.fail(w, r, &apitype.Error{Status: http.StatusNotFound, Code: apitype.CodeNotFound,
			Message: fmt.Sprintf("%s is no longer at %s", f.Name, f.Path)})
		return
	}
	ctype, disposition := "application/octet-stream", "attachment"
	if inline {
		t, ok := inlineType(f.MediaType, file)
		if !ok {
			s.fail(w, r, badRequest(f.Name+" is not a PNG, JPEG, GIF or WebP image: only those are shown inline; download it instead"))
			return
		}
		ctype, disposition = t, "inline"
	}
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("Content-Disposition", contentDisposition(disposition, f.Name))
	h.Set("Content-Security-Policy", contentCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(w, r, "", st.ModTime(), file)
}

// inlineType is the type an image may be shown inline as: one of
// inlineTypes, claimed by the offer (which comes from the peer)
// and confirmed by the first bytes.
func inlineType(claimed string, file io.ReadSeeker) (string, bool) {
	t, _, err := mime.ParseMediaType(claimed)
	if err != nil || !slices.Contains(inlineTypes, t) {
		return "", false
	}
	head := make([]byte, 512)
	n, _ := io.ReadFull(file, head)
	if _, err := file.Seek(0, io.SeekStart); err != nil {
		return "", false
	}
	return t, http.DetectContentType(head[:n]) == t
}

// contentDisposition is "attachment" (or "inline") with the file's name,
// as RFC 6266 wants it: an ASCII fallback, then the UTF-8 name
// percent-encoded (RFC 8187).
func contentDisposition(disposition, name string) string {
	var ascii, enc strings.Builder
	for _, r := range name {
		switch {
		case r < 0x20 || r == 0x7f:
		case r > 0x7e || r == '"' || r == '\\' || r == '%':
			ascii.WriteByte('_')
		default:
			ascii.WriteRune(r)
		}
	}
	for _, b := range []byte(name) {
		if isAttrChar(b) {
			enc.WriteByte(b)
		} else {
			fmt.Fprintf(&enc, "%%%02X", b)
		}
	}
	return fmt.Sprintf(`%s; filename="%s"; filename*=UTF-8''%s`, disposition, ascii.String(), enc.String())
}

// isAttrChar: RFC 8187's attr-char, which needs no percent-encoding.
func isAttrChar(b byte) bool {
	switch {
	case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9':
		return true
	}
	return strings.IndexByte("!#$&+-.^_`|~", b) >= 0
}

func (n *namer) fileView(f parley.File) apitype.FileView {
	return apitype.NewFileView(f, n.name(f.From))
}
