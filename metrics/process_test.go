package metrics

import (
	"strings"
	"testing"

	"github.com/baton-go/baton/proc"
	"github.com/prometheus/common/expfmt"
)

func TestCanaryVerdictsExported(t *testing.T) {
	for _, tt := range []struct {
		name             string
		promoted, rolled int
		want, wantAbsent string
	}{
		{"none yet", 0, 0, "", "baton_canary_reloads_total"},
		{"both verdicts", 2, 1, `baton_canary_reloads_total{server="default",verdict="rolled_back"} 1`, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fams := statsFamilies("default", proc.Stats{CanaryPromoted: tt.promoted, CanaryRolledBack: tt.rolled}, true)
			var b strings.Builder
			for _, f := range fams {
				if _, err := expfmt.MetricFamilyToText(&b, f); err != nil {
					t.Fatal(err)
				}
			}
			text := b.String()
			if tt.want != "" && (!strings.Contains(text, tt.want) || !strings.Contains(text, `verdict="promoted"} 2`)) {
				t.Errorf("families lack %q:\n%s", tt.want, text)
			}
			if tt.wantAbsent != "" && strings.Contains(text, tt.wantAbsent) {
				t.Errorf("families have %q before any canary:\n%s", tt.wantAbsent, text)
			}
		})
	}
}
