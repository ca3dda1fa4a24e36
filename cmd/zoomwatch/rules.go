package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/zoomwatch/zoomwatch/internal/detect"
	"github.com/zoomwatch/zoomwatch/internal/rules"
)

func runRules(ctx context.Context, s streams, args []string) error {
	if len(args) == 0 {
		return &usageError{msg: "usage: zoomwatch rules list [--rules DIR] | zoomwatch rules test [DIR]"}
	}
	switch args[0] {
	case "list":
		return rulesList(s, args[1:])
	case "test":
		return rulesTest(s, args[1:])
	}
	return &usageError{msg: fmt.Sprintf("unknown rules subcommand %q (want list or test)", args[0])}
}

func rulesList(s streams, args []string) error {
	fset := flag.NewFlagSet("rules list", flag.ContinueOnError)
	fset.SetOutput(s.stderr)
	dir := fset.String("rules", "", "also list the rule files in `DIR`")
	if err := fset.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return &usageError{msg: err.Error()}
	}
	if fset.NArg() > 0 {
		return &usageError{msg: "rules list takes no arguments"}
	}
	rs, err := loadRuleSet(*dir)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(s.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSEVERITY\tLOG TYPES\tENABLED")
	for _, r := range rs.Rules() {
		lts := make([]string, len(r.LogTypes))
		for i, lt := range r.LogTypes {
			lts[i] = string(lt)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%t\n", r.ID, r.Severity, strings.Join(lts, ","), r.Enabled)
	}
	return tw.Flush()
}

// rulesTest runs the inline tests of the rules in DIR, or of the shipped rules.
func rulesTest(s streams, args []string) error {
	fset := flag.NewFlagSet("rules test", flag.ContinueOnError)
	fset.SetOutput(s.stderr)
	verbose := fset.Bool("v", false, "print every test, not only failures")
	if err := fset.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return &usageError{msg: err.Error()}
	}
	var (
		rs  *detect.RuleSet
		err error
	)
	switch fset.NArg() {
	case 0:
		rs, err = detect.LoadFS(rules.FS(), ".")
	case 1:
		rs, err = detect.LoadDir(fset.Arg(0))
	default:
		return &usageError{msg: "rules test takes at most one DIR"}
	}
	if err != nil {
		return fmt.Errorf("load rules: %w", err)
	}
	if len(rs.Rules()) == 0 {
		return fmt.Errorf("no rule files (*.yaml, *.yml) to test")
	}
	results := rs.Test()
	type tally struct{ pass, fail int }
	perRule := map[string]*tally{}
	var order []string
	failed := 0
	for _, r := range results {
		t := perRule[r.RuleID]
		if t == nil {
			t = &tally{}
			perRule[r.RuleID] = t
			order = append(order, r.RuleID)
		}
		if r.Passed {
			t.pass++
		} else {
			t.fail++
			failed++
		}
	}
	for _, id := range order {
		t := perRule[id]
		status := "PASS"
		if t.fail > 0 {
			status = "FAIL"
		}
		fmt.Fprintf(s.stdout, "%s %s (%d/%d)\n", status, id, t.pass, t.pass+t.fail)
		for _, r := range results {
			if r.RuleID != id || (r.Passed && !*verbose) {
				continue
			}
			mark := "ok"
			if !r.Passed {
				mark = "FAIL"
			}
			name := r.Name
			if name == "" {
				name = "(no tests)"
			}
			line := fmt.Sprintf("    %s %s", mark, name)
			if r.Reason != "" {
				line += ": " + r.Reason
			}
			fmt.Fprintln(s.stdout, line)
		}
	}
	rulesFailed := 0
	for _, t := range perRule {
		if t.fail > 0 {
			rulesFailed++
		}
	}
	fmt.Fprintf(s.stdout, "%d rules, %d tests: %d passed, %d failed\n", len(order), len(results), len(results)-failed, failed)
	if failed > 0 {
		return fmt.Errorf("%d of %d rule tests failed in %d rule(s)", failed, len(results), rulesFailed)
	}
	return nil
}
