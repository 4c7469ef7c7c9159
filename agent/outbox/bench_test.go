package outbox

import (
	"context"
	"path/filepath"
	"testing"
)

// BenchmarkAppend measures the commit latency of one scan (a WAL fsync with
// synchronous=FULL) on the temporary folder's file system.
func BenchmarkAppend(b *testing.B) {
	o := openTest(b, filepath.Join(b.TempDir(), "outbox.db"), nil)
	ctx := context.Background()
	s := testScan(1)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := o.Append(ctx, s); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppendParallel is several readers appending at once.
func BenchmarkAppendParallel(b *testing.B) {
	o := openTest(b, filepath.Join(b.TempDir(), "outbox.db"), nil)
	ctx := context.Background()
	s := testScan(1)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := o.Append(ctx, s); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
