// Package rules holds the detection rules zoomwatch ships: one YAML file per rule, embedded
// into the binary and loaded by internal/detect (see DESIGN.md "Rules" for the format).
//
// The first nine rules keep the rule IDs of Panther's Zoom pack so that users migrating keep
// their tuning; their inline tests include every test case Panther publishes for those IDs,
// named "panther: <original name>", with the same expected verdict. The remaining rules cover
// what the operation log and sign-in report record beyond that pack: SSO and SAML mapping,
// billing, licences, roles, account ownership, mass deletion, cloud recording exposure,
// account-wide meeting security, operators outside the allowed domains, and sign-in activity.
//
// Conditions match operation_detail texts tolerantly (case, spacing around the separators,
// several changes in one record) because Zoom writes free text, not structured fields.
package rules
