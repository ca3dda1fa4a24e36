package main

import (
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/cxapi"
	"github.com/aws/jsii-runtime-go"
)

// TestAwsSolutionsNag runs cdk-nag's AwsSolutions pack over the fully configured and the minimal
// stack: every finding must be fixed or suppressed with a reason in nag.go.
func TestAwsSolutionsNag(t *testing.T) {
	minimal := map[string]any{
		KeySources:    `[{"id":"main","authType":"s2s"}]`,
		KeyStreamMode: StreamProvisioned, KeyShardCount: "2",
	}
	for name, ctx := range map[string]map[string]any{"full": fullContext(""), "minimal": minimal} {
		t.Run(name, func(t *testing.T) {
			ctx[KeyAssetDir] = placeholderAssets(t)
			app := awscdk.NewApp(&awscdk.AppProps{Context: &ctx, Outdir: jsii.String(t.TempDir())})
			s, err := Build(app)
			if err != nil {
				t.Fatal(err)
			}
			CheckWithNag(app)
			ann := assertions.Annotations_FromStack(s.Stack)
			match := assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*"))
			report := func(level string, msgs *[]*cxapi.SynthesisMessage) {
				for _, m := range *msgs {
					t.Errorf("unsuppressed cdk-nag %s at %s: %v", level, *m.Id, m.Entry.Data)
				}
			}
			report("error", ann.FindError(jsii.String("*"), match))
			report("warning", ann.FindWarning(jsii.String("*"), match))
		})
	}
}
