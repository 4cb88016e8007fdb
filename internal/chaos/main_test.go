package chaos

import (
	"os"
	"testing"

	"github.com/parley-im/parley/internal/parleytest"
)

func TestMain(m *testing.M) { os.Exit(parleytest.Main(m)) }
