package detect

import (
	"strings"
	"text/template"
	"text/template/parse"

	"github.com/expr-lang/expr/ast"
)

// What a condition or template reads, so raw operation records pay for operation_detail
// parsing and e-mail extraction only when a rule evaluated on them needs it.
const (
	needDetail uint8 = 1 << iota
	needEmails
	// needTime: the record's time is parsed only for matches and conditions that read it.
	needTime
)

// detailFields are the Env names filled by parsing operation_detail.
var detailFields = map[string]bool{
	"object": true, "setting": true, "from": true, "to": true, "target_user": true,
	"group": true, "role": true, "parsed": true,
}

// needsOf maps the names an expression or template reads to need bits.
func needsOf(name string) uint8 {
	switch {
	case detailFields[name]:
		return needDetail
	case name == "emails":
		return needEmails
	case name == "time":
		return needTime
	}
	return 0
}

// identCollector gathers the needs of an expr AST.
type identCollector struct{ needs uint8 }

// Visit implements ast.Visitor.
func (c *identCollector) Visit(node *ast.Node) {
	if id, ok := (*node).(*ast.IdentifierNode); ok {
		c.needs |= needsOf(id.Value)
	}
}

// stringFields read the Env's string fields by name, for templates that only interpolate.
var stringFields = map[string]func(e *Env) string{
	"log_type": func(e *Env) string { return e.LogType }, "source": func(e *Env) string { return e.Source },
	"actor": func(e *Env) string { return e.Actor }, "ip": func(e *Env) string { return e.IP },
	"category": func(e *Env) string { return e.Category }, "action": func(e *Env) string { return e.Action },
	"object": func(e *Env) string { return e.Object }, "setting": func(e *Env) string { return e.Setting },
	"from": func(e *Env) string { return e.From }, "to": func(e *Env) string { return e.To },
	"target_user": func(e *Env) string { return e.TargetUser }, "group": func(e *Env) string { return e.Group },
	"role": func(e *Env) string { return e.Role }, "text": func(e *Env) string { return e.Text },
	"client_type": func(e *Env) string { return e.ClientType }, "version": func(e *Env) string { return e.Version },
}

// textTemplate is a title, dedup, distinct or first-seen template. Templates that only
// interpolate string fields ("{{.actor}}|{{.ip}}", the common case) render by concatenation
// without reflection; anything else runs text/template over the event's map.
type textTemplate struct {
	tmpl  *template.Template
	parts []templatePart // nil: use tmpl
	needs uint8
}

type templatePart struct {
	lit string
	get func(*Env) string // nil for a literal or a param
	// param names a params value ({{.params.min_version}}); rendered directly when it is a
	// string, by text/template otherwise.
	param string
}

func newTextTemplate(name, text string) (*textTemplate, error) {
	t, err := parseTemplate(name, text)
	if err != nil {
		return nil, err
	}
	tt := &textTemplate{tmpl: t}
	fast := true
	var parts []templatePart
	var walk func(n parse.Node)
	walk = func(n parse.Node) {
		switch n := n.(type) {
		case *parse.ListNode:
			for _, c := range n.Nodes {
				walk(c)
			}
		case *parse.TextNode:
			parts = append(parts, templatePart{lit: string(n.Text)})
		case *parse.ActionNode:
			if len(n.Pipe.Decl) == 0 && len(n.Pipe.Cmds) == 1 && len(n.Pipe.Cmds[0].Args) == 1 {
				if f, ok := n.Pipe.Cmds[0].Args[0].(*parse.FieldNode); ok && len(f.Ident) == 1 {
					tt.needs |= needsOf(f.Ident[0])
					if get, ok := stringFields[f.Ident[0]]; ok {
						parts = append(parts, templatePart{get: get})
						return
					}
				}
				if f, ok := n.Pipe.Cmds[0].Args[0].(*parse.FieldNode); ok && len(f.Ident) == 2 && f.Ident[0] == "params" {
					parts = append(parts, templatePart{param: f.Ident[1]})
					return
				}
			}
			fast = false
			walkNeeds(n, &tt.needs)
		default:
			fast = false
			walkNeeds(n, &tt.needs)
		}
	}
	walk(t.Tree.Root)
	if fast {
		tt.parts = parts
	}
	return tt, nil
}

// walkNeeds conservatively derives needs from any template node's text.
func walkNeeds(n parse.Node, needs *uint8) {
	s := n.String()
	for name := range detailFields {
		if strings.Contains(s, "."+name) {
			*needs |= needDetail
		}
	}
	if strings.Contains(s, ".emails") {
		*needs |= needEmails
	}
	if strings.Contains(s, ".time") {
		*needs |= needTime
	}
}

// appendTo appends the rendering to dst.
func (t *textTemplate) appendTo(dst []byte, e *Env) ([]byte, error) {
	if t.parts != nil {
		for _, p := range t.parts {
			if p.param != "" {
				if _, ok := e.Params[p.param].(string); !ok {
					goto slow
				}
			}
		}
		for _, p := range t.parts {
			switch {
			case p.get != nil:
				dst = append(dst, p.get(e)...)
			case p.param != "":
				s, _ := e.Params[p.param].(string)
				dst = append(dst, s...)
			default:
				dst = append(dst, p.lit...)
			}
		}
		return dst, nil
	}
slow:
	s, err := execTemplate(t.tmpl, e.templateData())
	return append(dst, s...), err
}

func (t *textTemplate) render(e *Env) (string, error) {
	if t.parts == nil {
		return execTemplate(t.tmpl, e.templateData())
	}
	n := 0
	for _, p := range t.parts {
		switch {
		case p.get != nil:
			n += len(p.get(e))
		case p.param != "":
			s, ok := e.Params[p.param].(string)
			if !ok {
				return execTemplate(t.tmpl, e.templateData())
			}
			n += len(s)
		default:
			n += len(p.lit)
		}
	}
	var sb strings.Builder
	sb.Grow(n)
	for _, p := range t.parts {
		switch {
		case p.get != nil:
			sb.WriteString(p.get(e))
		case p.param != "":
			s, _ := e.Params[p.param].(string)
			sb.WriteString(s)
		default:
			sb.WriteString(p.lit)
		}
	}
	return sb.String(), nil
}
