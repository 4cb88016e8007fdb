package localapi

import (
	"net/http"

	"github.com/parley-im/parley/gui/apitype"
)

// The passphrase endpoints: whether one is set, setting, changing and
// removing it, and skipping the GUI's first-run offer. Every change needs
// the current passphrase (none when none is set), so a session alone can
// set one on an unprotected node but never change or remove one.

func (s *Server) handlePassphrase(w http.ResponseWriter, r *http.Request) {
	s.answerPassphrase(w, r)
}

func (s *Server) handleSetPassphrase(w http.ResponseWriter, r *http.Request) {
	var req apitype.PassphraseRequest
	if err := decodeBody(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if req.New == "" {
		s.fail(w, r, badRequest("the new passphrase is empty (to remove the passphrase, use DELETE)"))
		return
	}
	if err := s.keystore.ChangePassphrase(r.Context(), []byte(req.Old), []byte(req.New)); err != nil {
		s.fail(w, r, err)
		return
	}
	s.answerPassphrase(w, r)
}

func (s *Server) handleRemovePassphrase(w http.ResponseWriter, r *http.Request) {
	var req apitype.PassphraseRequest
	if err := decodeBody(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if req.New != "" {
		s.fail(w, r, badRequest("DELETE removes the passphrase: give only the current one (old)"))
		return
	}
	if req.Old == "" {
		s.fail(w, r, badRequest("give the current passphrase (old) to remove it"))
		return
	}
	if err := s.keystore.ChangePassphrase(r.Context(), []byte(req.Old), nil); err != nil {
		s.fail(w, r, err)
		return
	}
	s.answerPassphrase(w, r)
}

func (s *Server) handleSkipPassphrase(w http.ResponseWriter, r *http.Request) {
	if err := s.keystore.SkipPassphraseOffer(r.Context()); err != nil {
		s.fail(w, r, err)
		return
	}
	s.answerPassphrase(w, r)
}

func (s *Server) answerPassphrase(w http.ResponseWriter, r *http.Request) {
	set, offered, err := s.keystore.PassphraseState(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, apitype.PassphraseView{Set: set, Offered: offered})
}
