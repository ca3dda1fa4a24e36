package main

import (
	"fmt"
	"sort"
	"strings"
	"testing"
)

func list(v any) []any {
	switch x := v.(type) {
	case nil:
		return nil
	case []any:
		return x
	default:
		return []any{x}
	}
}

// literals returns the plain strings inside an intrinsic (Fn::Join pieces, etc.).
func literals(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			out = append(out, literals(e)...)
		}
		return out
	case map[string]any:
		if _, ok := x["Ref"]; ok {
			return nil
		}
		if _, ok := x["Fn::GetAtt"]; ok {
			return nil
		}
		var out []string
		for _, e := range x {
			out = append(out, literals(e)...)
		}
		return out
	}
	return nil
}

type policyDoc struct {
	where string
	doc   map[string]any
}

// policyDocs walks every IAM policy document of the template: attached policies, managed
// policies and inline role policies.
func policyDocs(t *testing.T, tpl map[string]any) []policyDoc {
	t.Helper()
	var docs []policyDoc
	for id, r := range resourcesOf(tpl, "AWS::IAM::Policy") {
		docs = append(docs, policyDoc{id, props(r)["PolicyDocument"].(map[string]any)})
	}
	for id, r := range resourcesOf(tpl, "AWS::IAM::ManagedPolicy") {
		docs = append(docs, policyDoc{id, props(r)["PolicyDocument"].(map[string]any)})
	}
	for id, r := range resourcesOf(tpl, "AWS::IAM::Role") {
		if m, ok := props(r)["ManagedPolicyArns"]; ok {
			t.Errorf("role %s attaches managed policies %v; every permission must be written out here", id, m)
		}
		for _, p := range list(props(r)["Policies"]) {
			docs = append(docs, policyDoc{id, p.(map[string]any)["PolicyDocument"].(map[string]any)})
		}
	}
	return docs
}

// checkLeastPrivilege fails on any allowed wildcard action, any "*" resource, NotAction or
// NotResource, and any resource pattern other than the stage's SSM hierarchy.
func checkLeastPrivilege(t *testing.T, s synthesized) {
	t.Helper()
	ssmPath := ":parameter/zoomwatch/" + s.stack.Config.Stage + "/*"
	docs := policyDocs(t, s.json)
	if len(docs) < 3 {
		t.Fatalf("found %d policy documents, want at least one per function", len(docs))
	}
	for _, d := range docs {
		for i, st := range list(d.doc["Statement"]) {
			st := st.(map[string]any)
			at := fmt.Sprintf("%s statement %d (%v)", d.where, i, st["Sid"])
			if st["Effect"] == "Deny" {
				continue // denies narrow; wildcards there take away, not grant
			}
			if _, ok := st["NotAction"]; ok {
				t.Errorf("%s: NotAction grants everything else", at)
			}
			if _, ok := st["NotResource"]; ok {
				t.Errorf("%s: NotResource grants everything else", at)
			}
			for _, a := range list(st["Action"]) {
				if as, ok := a.(string); !ok || strings.Contains(as, "*") || strings.Contains(as, "?") {
					t.Errorf("%s: wildcard or non-literal action %v", at, a)
				}
			}
			res := list(st["Resource"])
			if len(res) == 0 {
				t.Errorf("%s: no resource", at)
			}
			for _, r := range res {
				if r == "*" {
					t.Errorf("%s: resource *", at)
					continue
				}
				for _, lit := range literals(r) {
					if strings.Contains(lit, "*") && !strings.HasSuffix(lit, ssmPath) {
						t.Errorf("%s: wildcard in resource %v", at, r)
					}
				}
			}
		}
	}
}

// actionsByRole returns the allowed actions of each role, keyed by the role's description.
func actionsByRole(t *testing.T, s synthesized) map[string][]string {
	t.Helper()
	roles := resourcesOf(s.json, "AWS::IAM::Role")
	out := map[string][]string{}
	for _, p := range resourcesOf(s.json, "AWS::IAM::Policy") {
		for _, r := range list(props(p)["Roles"]) {
			id := r.(map[string]any)["Ref"].(string)
			desc, _ := props(roles[id])["Description"].(string)
			for _, st := range list(props(p)["PolicyDocument"].(map[string]any)["Statement"]) {
				for _, a := range list(st.(map[string]any)["Action"]) {
					out[desc] = append(out[desc], a.(string))
				}
			}
		}
	}
	for k := range out {
		sort.Strings(out[k])
	}
	return out
}

func TestLeastPrivilege(t *testing.T) {
	s := full(t)
	checkLeastPrivilege(t, s)

	logs := []string{"logs:CreateLogStream", "logs:PutLogEvents"}
	kms := []string{"kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"}
	want := map[string][]string{
		"zoomwatch poller function": concat(logs, kms, pollerStateActions(),
			[]string{"secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue", "kinesis:PutRecords", "ssm:GetParametersByPath", "sns:Publish"}),
		"zoomwatch detector function": concat(logs, kms, detectorStateActions(), streamReadActions(),
			[]string{"ssm:GetParametersByPath", "sns:Publish", "sqs:SendMessage"}),
		"zoomwatch oauth function": concat(logs, kms, oauthStateActions(),
			[]string{"secretsmanager:GetSecretValue", "secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue"}),
	}
	got := actionsByRole(t, s)
	for role, actions := range want {
		sort.Strings(actions)
		if strings.Join(got[role], " ") != strings.Join(actions, " ") {
			t.Errorf("%s may do\n  %v\nwant exactly\n  %v", role, got[role], actions)
		}
	}
	if len(got) != len(want) {
		t.Errorf("roles with policies: %v, want only the three functions'", keys(got))
	}
	// The Lambda Kinesis event source mapping needs these with the function's role.
	for _, a := range []string{"kinesis:GetRecords", "kinesis:GetShardIterator", "kinesis:DescribeStream", "kinesis:ListShards"} {
		if !containsString(got["zoomwatch detector function"], a) {
			t.Errorf("detector role lacks %s, which its event source mapping needs", a)
		}
	}
}

func concat(parts ...[]string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func keys(m map[string][]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func containsString(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
