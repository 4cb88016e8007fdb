package localapi

import (
	"errors"
	"fmt"
	"mime"
	"net/http"
	"time"

	"github.com/parley-im/parley/gui/apitype"
)

// handleBackup streams an encrypted backup of the node as an attachment.
// The body is JSON (the CLI, bots) or a form (the GUI: a form's answer
// with Content-Disposition: attachment is saved by the browser as a
// download, streamed to disk, where a fetch would have to hold the whole
// backup in memory first). Restoring is not an API: it happens offline,
// before a node runs on the data dir (parley restore).
func (s *Server) handleBackup(w http.ResponseWriter, r *http.Request) {
	req, err := decodeBackupRequest(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	switch {
	case req.Passphrase == "":
		s.fail(w, r, badRequest("the backup's passphrase is empty: give one (restoring asks for it)"))
		return
	case req.Confirm != "" && req.Confirm != req.Passphrase:
		s.fail(w, r, badRequest("the two passphrases differ: type the same one twice"))
		return
	}
	name := "parley-backup-" + time.Now().Format("2006-01-02") + ".age"
	out := &startOnWrite{w: w, start: func(h http.Header) {
		h.Set("Content-Type", apitype.BackupContentType)
		h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	}}
	if err := s.keystore.Backup(r.Context(), out, []byte(req.Passphrase)); err != nil {
		if !out.started {
			s.fail(w, r, err)
			return
		}
		// The status is sent: cut the connection, so that the client sees
		// a broken transfer, not a short backup that looks whole.
		s.log.Warn("backup failed mid-way", "err", err)
		panic(http.ErrAbortHandler)
	}
	if !out.started {
		s.fail(w, r, errors.New("backup: nothing was written"))
	}
}

func decodeBackupRequest(r *http.Request) (apitype.BackupRequest, error) {
	var req apitype.BackupRequest
	ctype, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ctype != "application/x-www-form-urlencoded" {
		return req, decodeBody(r, &req)
	}
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return req, &apitype.Error{Status: http.StatusRequestEntityTooLarge, Code: apitype.CodeTooLarge,
				Message: fmt.Sprintf("request body too large (limit %d bytes)", tooBig.Limit)}
		}
		return req, badRequest("invalid form: " + err.Error())
	}
	req.Passphrase, req.Confirm = r.PostForm.Get("passphrase"), r.PostForm.Get("confirm")
	return req, nil
}

// startOnWrite sends the success headers with the first byte, so that an
// error before it still gets its own status and JSON body.
type startOnWrite struct {
	w       http.ResponseWriter
	start   func(http.Header)
	started bool
}

func (s *startOnWrite) Write(p []byte) (int, error) {
	if !s.started {
		s.started = true
		s.start(s.w.Header())
		s.w.WriteHeader(http.StatusOK)
	}
	return s.w.Write(p)
}
