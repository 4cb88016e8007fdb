package storage

import (
	"testing"

	parley "github.com/parley-im/parley"
)

// Opening a conversation of 10,000 messages, each with an edit and two
// reactions: the newest page of 50 and the annotations its view is folded
// from (what the node reads for the first screen). The baseline, in the
// same run, is the page alone.
func annotatedConversation(b *testing.B) (*DB, parley.ConversationID) {
	db := openTemp(b)
	const n = 10000
	recs := make([]Record, 0, 4*n)
	for i := range n {
		m := text(bob, i%2 == 0, parley.HLC(4*i+1), "a message of a typical length, say forty")
		edit := annotation(bob, parley.KindEdit, m.Message.ID, parley.HLC(4*i+2), "an edited message of a typical length")
		r1 := annotation(bob, parley.KindReaction, m.Message.ID, parley.HLC(4*i+3), "")
		r2 := annotation(self, parley.KindReaction, m.Message.ID, parley.HLC(4*i+4), "")
		r1.Message.Emoji, r2.Message.Emoji = "👍", "❤️"
		recs = append(recs, m, edit, r1, r2)
	}
	for len(recs) > 0 {
		k := min(len(recs), 4000)
		if _, err := db.PutRecords(recs[:k]); err != nil {
			b.Fatal(err)
		}
		recs = recs[k:]
	}
	return db, parley.DMConversationID(self, bob)
}

func BenchmarkOpenAnnotatedConversation(b *testing.B) {
	db, conv := annotatedConversation(b)
	b.ResetTimer()
	for range b.N {
		msgs, err := db.MessagePage(conv, Page{Limit: pageSize})
		if err != nil || len(msgs) != pageSize {
			b.Fatal(len(msgs), err)
		}
		ids := make([]parley.EnvelopeID, len(msgs))
		for i, m := range msgs {
			ids[i] = m.ID
		}
		anns, err := db.Annotations(ids)
		if err != nil || len(anns) != pageSize {
			b.Fatal(len(anns), err)
		}
	}
}

func BenchmarkOpenAnnotatedConversationPageOnly(b *testing.B) {
	db, conv := annotatedConversation(b)
	b.ResetTimer()
	for range b.N {
		msgs, err := db.MessagePage(conv, Page{Limit: pageSize})
		if err != nil || len(msgs) != pageSize {
			b.Fatal(len(msgs), err)
		}
	}
}
