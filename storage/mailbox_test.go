package storage

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	parley "github.com/parley-im/parley"
)

var mailboxT0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func testAccount(owner byte) MailboxAccount {
	return MailboxAccount{
		Owner: MailboxOwner{owner, 31: owner}, OwnerKey: []byte{0x08, 0x01, 0x12, 0x20, owner},
		IssuedAt: mailboxT0, ExpiresAt: mailboxT0.Add(365 * 24 * time.Hour),
		DepositKey: [32]byte{0xdd, 31: owner},
	}
}

func randomEnvelope(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

var admitAll = func(MailboxAccount) error { return nil }

// TestGoldenMailbox pins the mailbox's stored formats and keys, as
// TestGolden and TestGoldenKeys do the rest.
func TestGoldenMailbox(t *testing.T) {
	a := testAccount(0xa1)
	a.Revoked = [][16]byte{{0x01, 15: 0x0f}, {0x02, 15: 0x0e}}
	a.Count, a.Bytes, a.NextSeq = 3, 4096, 7
	cases := []goldenCase{
		golden("mailbox-account.hex", a, infallible(encodeMailboxAccount), decodeMailboxAccount),
		{
			file:   "mail.hex",
			value:  [2]any{mailboxT0, []byte("sealed envelope")},
			encode: func() ([]byte, error) { return encodeMail(mailboxT0, []byte("sealed envelope")), nil },
			decode: func(b []byte) (any, error) {
				at, env, err := decodeMail(b)
				return [2]any{at, env}, err
			},
		},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			path := filepath.Join("testdata", "golden", c.file)
			got, err := c.encode()
			if err != nil {
				t.Fatal(err)
			}
			if *update {
				writeGolden(t, path, got)
			}
			want := readGolden(t, path)
			if !bytes.Equal(got, want) {
				t.Errorf("encoding changed the stored format:\n got %s\nwant %s", show(c.file, got), show(c.file, want))
			}
			v, err := c.decode(want)
			if err != nil {
				t.Fatalf("decode the golden bytes: %v", err)
			}
			if !reflect.DeepEqual(v, c.value) {
				t.Errorf("decoded golden bytes:\n got %+v\nwant %+v", v, c.value)
			}
		})
	}

	owner := MailboxOwner{0x0a, 31: 0x0b}
	var got strings.Builder
	for _, k := range []struct {
		name string
		key  []byte
	}{
		{"accounts", []byte(keyMailboxAccounts)},
		{"account", mailboxAccountKey(owner)},
		{"mail", mailKey(owner, 0x0102)},
		{"mail-index", mailIndexKey(owner, parley.EnvelopeID{0xe0, 31: 0xe1})},
	} {
		fmt.Fprintf(&got, "%-10s %x\n", k.name, k.key)
	}
	path := filepath.Join("testdata", "golden", "mailbox-keys.txt")
	if *update {
		if err := os.WriteFile(path, []byte(got.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.String() != string(want) {
		t.Errorf("key layout changed:\n%s\nwant\n%s", got.String(), want)
	}
	if seq, err := mailKeySeq(mailKey(owner, 0x0102)); err != nil || seq != 0x0102 {
		t.Errorf("mailKeySeq = %d, %v", seq, err)
	}
}

func FuzzDecodeMailboxAccount(f *testing.F) {
	a := testAccount(1)
	f.Add(encodeMailboxAccount(a))
	a.Revoked = [][16]byte{{1}, {2}}
	f.Add(encodeMailboxAccount(a))
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := decodeMailboxAccount(b)
		if err != nil {
			if !errors.Is(err, parley.ErrMalformed) {
				t.Fatalf("error does not wrap ErrMalformed: %v", err)
			}
			return
		}
		if again, err := decodeMailboxAccount(encodeMailboxAccount(a)); err != nil || !reflect.DeepEqual(again, a) {
			t.Fatalf("re-encoding changed %+v into %+v, %v", a, again, err)
		}
	})
}

func FuzzDecodeMail(f *testing.F) {
	f.Add(encodeMail(mailboxT0, []byte("x")))
	f.Fuzz(func(t *testing.T, b []byte) {
		at, env, err := decodeMail(b)
		if err != nil {
			if !errors.Is(err, parley.ErrMalformed) {
				t.Fatalf("error does not wrap ErrMalformed: %v", err)
			}
			return
		}
		if !bytes.Equal(encodeMail(at, env), b) {
			t.Fatalf("re-encoding changed %x", b)
		}
	})
}

func TestMailboxDepositQuotaAck(t *testing.T) {
	db := openTemp(t)
	a := testAccount(1)
	if _, err := db.RegisterMailbox(a, 0); err != nil {
		t.Fatal(err)
	}
	q := MailboxQuota{Count: 2, Bytes: 1 << 20}
	e1, e2, e3 := randomEnvelope(100), randomEnvelope(200), randomEnvelope(300)
	for _, e := range [][]byte{e1, e2, e1} {
		if _, err := db.DepositMail(a.Owner, e, mailboxT0, q, admitAll); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.DepositMail(a.Owner, e3, mailboxT0, q, admitAll); !errors.Is(err, ErrMailboxFull) {
		t.Fatalf("third envelope over a quota of 2: %v, want ErrMailboxFull", err)
	}
	got, err := db.MailboxAccountOf(a.Owner, mailboxT0)
	if err != nil || got.Count != 2 || got.Bytes != MailCost(100)+MailCost(200) {
		t.Fatalf("account = %+v, %v; want 2 envelopes of %d bytes", got, err, MailCost(100)+MailCost(200))
	}
	page, more, err := db.MailPage(a.Owner, nil, 1, 1<<20, time.Time{})
	if err != nil || len(page) != 1 || !more || !bytes.Equal(page[0].Envelope, e1) {
		t.Fatalf("first page = %v, %v, %v", page, more, err)
	}
	page, more, err = db.MailPage(a.Owner, &page[0].Seq, 10, 1<<20, time.Time{})
	if err != nil || len(page) != 1 || more || !bytes.Equal(page[0].Envelope, e2) {
		t.Fatalf("second page = %v, %v, %v", page, more, err)
	}
	n, err := db.AckMail(a.Owner, []parley.EnvelopeID{parley.NewEnvelopeID(e1), parley.NewEnvelopeID(e1), {9}}, time.Hour)
	if err != nil || n != 1 {
		t.Fatalf("ack = %d, %v; want 1", n, err)
	}
	// Retried after the ack: the tombstone makes it a no-op.
	if stored, err := db.DepositMail(a.Owner, e1, mailboxT0, q, admitAll); err != nil || stored {
		t.Fatalf("deposit after ack = %v, %v; want nothing stored", stored, err)
	}
	if stored, err := db.DepositMail(a.Owner, e3, mailboxT0, q, admitAll); err != nil || !stored {
		t.Fatalf("deposit with room again = %v, %v", stored, err)
	}
	got, _ = db.MailboxAccountOf(a.Owner, mailboxT0)
	if got.Count != 2 || got.Bytes != MailCost(200)+MailCost(300) {
		t.Fatalf("account after ack = %+v", got)
	}
}

func TestMailboxRegistration(t *testing.T) {
	db := openTemp(t)
	a := testAccount(1)
	if _, err := db.RegisterMailbox(a, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := db.RegisterMailbox(a, 1); err != nil {
		t.Fatalf("the same registration again: %v", err)
	}
	if _, err := db.RegisterMailbox(testAccount(2), 1); !errors.Is(err, ErrTooManyAccounts) {
		t.Fatalf("a second owner past 1 account: %v", err)
	}
	if _, err := db.DepositMail(a.Owner, randomEnvelope(10), mailboxT0, MailboxQuota{10, 1 << 20}, admitAll); err != nil {
		t.Fatal(err)
	}
	older := a
	older.IssuedAt = a.IssuedAt.Add(-time.Second)
	older.DepositKey[0]++
	if _, err := db.RegisterMailbox(older, 1); !errors.Is(err, ErrStaleRegistration) {
		t.Fatalf("an older registration: %v", err)
	}
	newer := a
	newer.IssuedAt = a.IssuedAt.Add(time.Second)
	newer.Revoked = [][16]byte{{7}}
	got, err := db.RegisterMailbox(newer, 1)
	if err != nil || got.Count != 1 || !got.RevokedNonce([16]byte{7}) {
		t.Fatalf("a newer registration = %+v, %v; want its mail kept and the nonce revoked", got, err)
	}
	if _, err := db.MailboxAccountOf(testAccount(2).Owner, mailboxT0); !errors.Is(err, ErrNotRegistered) {
		t.Fatalf("unknown owner: %v", err)
	}
	if _, err := db.DepositMail(testAccount(2).Owner, randomEnvelope(10), mailboxT0, MailboxQuota{10, 1 << 20}, admitAll); !errors.Is(err, ErrNotRegistered) {
		t.Fatalf("deposit for an unknown owner: %v", err)
	}
	refusal := errors.New("no")
	if _, err := db.DepositMail(a.Owner, randomEnvelope(10), mailboxT0, MailboxQuota{10, 1 << 20}, func(MailboxAccount) error { return refusal }); !errors.Is(err, refusal) {
		t.Fatalf("admit's refusal: %v", err)
	}
}

func TestMailboxExpiry(t *testing.T) {
	db := openTemp(t)
	a := testAccount(1)
	b := testAccount(2)
	b.ExpiresAt = mailboxT0.Add(time.Hour)
	for _, acc := range []MailboxAccount{a, b} {
		if _, err := db.RegisterMailbox(acc, 0); err != nil {
			t.Fatal(err)
		}
	}
	q := MailboxQuota{10, 1 << 20}
	old, young := randomEnvelope(10), randomEnvelope(20)
	for _, d := range []struct {
		owner MailboxOwner
		env   []byte
		at    time.Time
	}{{a.Owner, old, mailboxT0}, {a.Owner, young, mailboxT0.Add(2 * time.Hour)}, {b.Owner, randomEnvelope(5), mailboxT0}} {
		if _, err := db.DepositMail(d.owner, d.env, d.at, q, admitAll); err != nil {
			t.Fatal(err)
		}
	}
	now := mailboxT0.Add(3 * time.Hour)
	cutoff := now.Add(-90 * time.Minute) // a TTL of 90 minutes: old is expired, young is not
	page, _, _ := db.MailPage(a.Owner, nil, 10, 1<<20, cutoff)
	if len(page) != 1 || !bytes.Equal(page[0].Envelope, young) {
		t.Fatalf("page before the sweep holds %d, want only the young one", len(page))
	}
	n, err := db.ExpireMail(cutoff, now)
	if err != nil || n != 2 {
		t.Fatalf("ExpireMail = %d, %v; want the old mail and the expired account's", n, err)
	}
	if got, _ := db.MailboxAccountOf(a.Owner, now); got.Count != 1 || got.Bytes != MailCost(20) {
		t.Fatalf("account after expiry: %+v", got)
	}
	if _, err := db.MailboxAccountOf(b.Owner, mailboxT0); !errors.Is(err, ErrNotRegistered) {
		t.Fatalf("the expired account is still there: %v", err)
	}
	if n, err := db.MailboxAccounts(); err != nil || n != 1 {
		t.Fatalf("accounts = %d, %v; want 1", n, err)
	}
}

func TestMailboxDiskFull(t *testing.T) {
	d := newFakeDisk(1 << 30)
	db, _, err := openOnDisk(t, t.TempDir(), newKey(t), d)
	if err != nil {
		t.Fatal(err)
	}
	a := testAccount(1)
	if _, err := db.RegisterMailbox(a, 0); err != nil {
		t.Fatal(err)
	}
	d.free.Store(DefaultMinFree / 2)
	db.space.state(true)
	_, err = db.DepositMail(a.Owner, randomEnvelope(10), mailboxT0, MailboxQuota{10, 1 << 20}, admitAll)
	if !errors.Is(err, parley.ErrNoSpace) {
		t.Fatalf("deposit on a full disk: %v, want a disk-full error", err)
	}
	if got, _ := db.MailboxAccountOf(a.Owner, mailboxT0); got.Count != 0 {
		t.Fatalf("a refused deposit was counted: %+v", got)
	}
}

// TestMailboxStoresNoDepositor: nothing DepositMail writes carries more
// than the owner, the envelope and the time. The API takes no depositor;
// this checks the raw keys and values it writes, every one of them.
func TestMailboxStoresNoDepositor(t *testing.T) {
	db := openTemp(t)
	a := testAccount(1)
	if _, err := db.RegisterMailbox(a, 0); err != nil {
		t.Fatal(err)
	}
	var before [][2][]byte
	dump := func() (kvs [][2][]byte) {
		_ = db.view(func(txn *badger.Txn) error {
			return scan(txn, "", func(k, v []byte) error {
				kvs = append(kvs, [2][]byte{bytes.Clone(k), bytes.Clone(v)})
				return nil
			})
		})
		return kvs
	}
	before = dump()
	env := []byte("canary-envelope-bytes")
	if _, err := db.DepositMail(a.Owner, env, mailboxT0, MailboxQuota{10, 1 << 20}, admitAll); err != nil {
		t.Fatal(err)
	}
	after := dump()
	id := parley.NewEnvelopeID(env)
	allowed := map[string]bool{
		string(mailboxAccountKey(a.Owner)): true,
		string(mailKey(a.Owner, 0)):        true,
		string(mailIndexKey(a.Owner, id)):  true,
	}
	if len(after) != len(before)+2 {
		t.Fatalf("a deposit wrote %d new keys, want 2 (and the account)", len(after)-len(before))
	}
	old := make(map[string]string)
	for _, kv := range before {
		old[string(kv[0])] = string(kv[1])
	}
	for _, kv := range after {
		if v, ok := old[string(kv[0])]; ok && v == string(kv[1]) {
			continue
		}
		if !allowed[string(kv[0])] {
			t.Errorf("a deposit wrote %q", kv[0])
		}
	}
}
