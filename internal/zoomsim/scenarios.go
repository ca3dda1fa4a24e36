package zoomsim

import "time"

// This file is the list of detection scenarios the simulator plants in its history, as data,
// so that rule authors can read exactly which records each incident contains. Texts follow
// Zoom's operation_detail format ("<object>  - <setting>: from <old> to <new>", two spaces
// before the dash); where Panther's Zoom rules exist their test strings are used verbatim, so
// that zoomwatch's rules and Panther's agree on the same records.
//
// Times are offsets from the clock at New: negative offsets are history, positive ones appear
// while a poller runs (each record becomes visible when the clock passes its time, or
// LateDelay later for a Late scenario). A scenario outside the generated range (HistoryDays
// before New to FutureDays after) is not planted, and Incidents does not list it.
//
// The ordinary history (history.go) never contains a record that any of these rules should
// flag, but it does contain look-alikes that a careless rule would flag; benignLookAlikes
// below lists them.

// scenario is one planted incident.
type scenario struct {
	// RuleID is the rule that must fire.
	RuleID string
	// Description says what happened, for people reading test failures.
	Description string
	// At is the time of the first record relative to the clock at New.
	At time.Duration
	// Late scenarios' records become visible only LateDelay after their time.
	Late bool
	// Operations or Activities are the scenario's records (one kind per scenario).
	Operations []plantedOperation
	Activities []plantedActivity
}

// plantedOperation is one operation log record of a scenario.
type plantedOperation struct {
	// After is the record's offset from the scenario's At.
	After                              time.Duration
	Operator, Category, Action, Detail string
}

// plantedActivity is one sign-in/sign-out record of a scenario.
type plantedActivity struct {
	// After is the record's offset from the scenario's At.
	After                                time.Duration
	Email, Type, IP, ClientType, Version string
}

// Operators of ordinary history. "Admin" rules (Zoom.SignIn.New.IP.For.Admin) treat anyone who
// appears as an operator in operation logs as an admin.
const (
	opAdmin    = "admin@springfield.example"
	opMarge    = "marge@springfield.example"
	opHomer    = "homer@springfield.example"
	opSmithers = "smithers@springfield.example"
)

// scenarios returns the planted incidents, oldest first.
func scenarios() []scenario {
	const (
		h = time.Hour
		m = time.Minute
		s = time.Second
	)
	op := func(after time.Duration, operator, category, action, detail string) plantedOperation {
		return plantedOperation{After: after, Operator: operator, Category: category, Action: action, Detail: detail}
	}
	signIn := func(after time.Duration, email, ip, client, version string) plantedActivity {
		return plantedActivity{After: after, Email: email, Type: "Sign in", IP: ip, ClientType: client, Version: version}
	}
	return []scenario{
		{
			RuleID: "Zoom.PasscodeDisabled", At: -62 * h,
			Description: "a user group's PMI passcode requirement turned off (Panther test string)",
			Operations: []plantedOperation{op(0, opHomer, "User Group", "Update",
				"Edit Group Springfield  - Personal Meeting ID (PMI) Passcode: from On to Off")},
		},
		{
			RuleID: "Zoom.UserGrantedAdmin", At: -58 * h,
			Description: "bart promoted from Member to Admin (Panther test string)",
			Operations: []plantedOperation{op(0, opMarge, "User", "Update",
				"Update User bart@springfield.example  - User Role: from Member to Admin")},
		},
		{
			RuleID: "Zoom.User.Promoted.to.Privileged.Role", At: -54 * h,
			Description: "milhouse's role changed from Member to Co-Owner by a batch role change (Panther format)",
			Operations: []plantedOperation{op(0, opAdmin, "User", "Batch Update",
				"Change Role  - milhouse@springfield.example: from Member to Co-Owner")},
		},
		{
			RuleID: "Zoom.All.Meetings.Secured.With.One.Option.Disabled", At: -50 * h,
			Description: "account no longer requires every meeting to be secured with one option",
			Operations: []plantedOperation{op(0, opSmithers, "Account", "Update",
				"Security  - Require that all meetings are secured with one security option: from On to Off")},
		},
		{
			RuleID: "Zoom.Automatic.Sign.Out.Disabled", At: -46 * h,
			Description: "automatic sign-out after a specified time turned off",
			Operations: []plantedOperation{op(0, opSmithers, "Account", "Update",
				"Security  - Automatically sign users out after a specified time: from On to Off")},
		},
		{
			RuleID: "Zoom.Sign.In.Method.Modified", At: -42 * h,
			Description: "sign-in with Google allowed",
			Operations: []plantedOperation{op(0, opAdmin, "Account", "Update",
				"Sign-in Methods  - Allow users to sign in with Google: from Off to On")},
		},
		{
			RuleID: "Zoom.New.Meeting.Passcode.Required.Disabled", At: -38 * h,
			Description: "passcodes no longer required when scheduling new meetings",
			Operations: []plantedOperation{op(0, opMarge, "Account", "Update",
				"Security  - Require a passcode when scheduling new meetings: from On to Off")},
		},
		{
			RuleID: "Zoom.Two.Factor.Authentication.Disabled", At: -34 * h,
			Description: "two-factor sign-in turned off for the account",
			Operations: []plantedOperation{op(0, opHomer, "Account", "Update",
				"Security  - Sign in with Two-Factor Authentication: from On to Off")},
		},
		{
			RuleID: "Zoom.Sign.In.Requirements.Changed", At: -30 * h,
			Description: "password complexity requirements weakened (Panther test string)",
			Operations: []plantedOperation{op(0, opAdmin, "Account", "Update",
				"Sign-In Password Requirement  - Include at least 1 letter: from On to Off - Include at least 1 number: from On to Off - Include both uppercase and lowercase characters: from On to Off")},
		},
		{
			RuleID: "Zoom.SSO.Configuration.Changed", At: -27 * h,
			Description: "SSO sign-in page URL pointed at a look-alike identity provider",
			Operations: []plantedOperation{op(0, opHomer, "Account", "Update",
				"Single Sign-On  - Sign-in page URL: from https://sso.springfield.example/saml2/login to https://sso.springfield-login.example/saml2/login")},
		},
		{
			RuleID: "Zoom.SAML.Mapping.Changed", At: -25 * h,
			Description: "SAML response mapping now makes every SSO user an Admin by default",
			Operations: []plantedOperation{op(0, opHomer, "Account", "Update",
				"SAML Response Mapping  - Default Role: from Member to Admin")},
		},
		{
			RuleID: "Zoom.Billing.Subscription.Changed", At: -23 * h,
			Description: "plan downgraded from Business to Pro",
			Operations: []plantedOperation{op(0, opMarge, "Billing", "Update",
				"Subscription  - Plan: from Business to Pro")},
		},
		{
			RuleID: "Zoom.License.Bulk.Downgrade", At: -21 * h,
			Description: "six users moved from Licensed to Basic by one operator within four minutes (three in the same second)",
			Operations: []plantedOperation{
				op(0, opSmithers, "User", "Update", "Update User apu@springfield.example  - User Type: from Licensed to Basic"),
				op(0, opSmithers, "User", "Update", "Update User moe@springfield.example  - User Type: from Licensed to Basic"),
				op(0, opSmithers, "User", "Update", "Update User barney@springfield.example  - User Type: from Licensed to Basic"),
				op(70*s, opSmithers, "User", "Update", "Update User lenny@springfield.example  - User Type: from Licensed to Basic"),
				op(150*s, opSmithers, "User", "Update", "Update User carl@springfield.example  - User Type: from Licensed to Basic"),
				op(230*s, opSmithers, "User", "Update", "Update User otto@springfield.example  - User Type: from Licensed to Basic"),
			},
		},
		{
			RuleID: "Zoom.Role.Created", At: -19 * h,
			Description: "a new role named Shadow Admin created",
			Operations:  []plantedOperation{op(0, opHomer, "Role", "Add", "Add Role  - Shadow Admin")},
		},
		{
			RuleID: "Zoom.Role.Privileges.Changed", At: -18*h - 45*m,
			Description: "the Shadow Admin role granted the privilege to edit account settings",
			Operations: []plantedOperation{op(0, opHomer, "Role", "Update",
				"Edit Role Shadow Admin  - Account Settings (Edit): from Off to On")},
		},
		{
			RuleID: "Zoom.Role.Deleted", At: -17 * h,
			Description: "the Auditor role deleted",
			Operations:  []plantedOperation{op(0, opHomer, "Role", "Delete", "Delete Role  - Auditor")},
		},
		{
			RuleID: "Zoom.Account.Owner.Changed", At: -15 * h,
			Description: "account ownership transferred from marge to smithers",
			Operations: []plantedOperation{op(0, opMarge, "Account", "Update",
				"Account Profile  - Account Owner: from marge@springfield.example to smithers@springfield.example")},
		},
		{
			RuleID: "Zoom.Mass.User.Deletion", At: -13 * h,
			Description: "twelve users deleted by one operator within nine minutes",
			Operations: []plantedOperation{
				op(0, opHomer, "User", "Delete", "Delete User intern01@springfield.example  - User Type: Basic - Department: Reactor Control"),
				op(45*s, opHomer, "User", "Delete", "Delete User intern02@springfield.example  - User Type: Basic - Department: Reactor Control"),
				op(90*s, opHomer, "User", "Delete", "Delete User intern03@springfield.example  - User Type: Licensed - Department: Safety"),
				op(135*s, opHomer, "User", "Delete", "Delete User intern04@springfield.example  - User Type: Basic - Department: Safety"),
				op(180*s, opHomer, "User", "Delete", "Delete User intern05@springfield.example  - User Type: Basic - Department: Operations"),
				op(225*s, opHomer, "User", "Delete", "Delete User intern06@springfield.example  - User Type: Licensed - Department: Operations"),
				op(270*s, opHomer, "User", "Delete", "Delete User intern07@springfield.example  - User Type: Basic - Department: Engineering"),
				op(315*s, opHomer, "User", "Delete", "Delete User intern08@springfield.example  - User Type: Basic - Department: Engineering"),
				op(360*s, opHomer, "User", "Delete", "Delete User intern09@springfield.example  - User Type: Basic - Department: Finance"),
				op(405*s, opHomer, "User", "Delete", "Delete User intern10@springfield.example  - User Type: Licensed - Department: Finance"),
				op(450*s, opHomer, "User", "Delete", "Delete User intern11@springfield.example  - User Type: Basic - Department: Security"),
				op(495*s, opHomer, "User", "Delete", "Delete User intern12@springfield.example  - User Type: Basic - Department: Security"),
			},
		},
		{
			RuleID: "Zoom.Cloud.Recording.Sharing.Enabled", At: -11 * h,
			Description: "cloud recordings may now be shared outside the account",
			Operations: []plantedOperation{op(0, opAdmin, "Account", "Update",
				"Recording  - Allow cloud recording sharing: from Off to On")},
		},
		{
			RuleID: "Zoom.Cloud.Recording.Passcode.Disabled", At: -10 * h,
			Description: "shared cloud recordings no longer need a passcode",
			Operations: []plantedOperation{op(0, opAdmin, "Account", "Update",
				"Recording  - Require passcode to access shared cloud recordings: from On to Off")},
		},
		{
			RuleID: "Zoom.Meeting.Security.Option.Disabled", At: -9 * h,
			Description: "waiting room turned off account-wide",
			Operations: []plantedOperation{op(0, opMarge, "Account", "Update",
				"Security  - Waiting Room: from On to Off")},
		},
		{
			RuleID: "Zoom.Admin.Action.Outside.Allowed.Domains", At: -8 * h,
			Description: "an operator outside springfield.example changed a user (the change itself is ordinary)",
			Operations: []plantedOperation{op(0, "consultant@shelbyville.example", "User", "Update",
				"Update User lisa@springfield.example  - Department: from Research to Operations")},
		},
		{
			RuleID: "Zoom.SignIn.New.IP.For.Admin", At: -7 * h,
			Description: "smithers (an operator) signs in from an IP he never used before",
			Activities:  []plantedActivity{signIn(0, opSmithers, "203.0.113.250", "Windows", "6.2.5.49200")},
		},
		{
			RuleID: "Zoom.SignIn.Many.IPs", At: -6 * h,
			Description: "nelson signs in from seven IPs within 24 minutes",
			Activities: []plantedActivity{
				signIn(0, "nelson@springfield.example", "198.51.100.201", "Browser", "-"),
				signIn(3*m, "nelson@springfield.example", "198.51.100.202", "Browser", "-"),
				signIn(7*m, "nelson@springfield.example", "203.0.113.203", "Windows", "6.1.11.55920"),
				signIn(11*m, "nelson@springfield.example", "192.0.2.204", "Browser", "-"),
				signIn(15*m, "nelson@springfield.example", "198.51.100.205", "Android", "6.2.5.22110"),
				signIn(19*m, "nelson@springfield.example", "203.0.113.206", "Browser", "-"),
				signIn(24*m, "nelson@springfield.example", "192.0.2.207", "Mac", "6.2.5.49200"),
			},
		},
		{
			RuleID: "Zoom.SignIn.Outdated.Client", At: -5 * h,
			Description: "lenny signs in with Zoom 5.12.0, below the 5.17.0 minimum",
			Activities:  []plantedActivity{signIn(0, "lenny@springfield.example", "198.51.100.27", "Windows", "5.12.0.4682")},
		},

		// The future: these appear while a poller runs.
		{
			RuleID: "Zoom.Two.Factor.Authentication.Disabled", At: 10 * m,
			Description: "two-factor sign-in turned off again, ten minutes after start",
			Operations: []plantedOperation{op(0, opSmithers, "Account", "Update",
				"Security  - Sign in with Two-Factor Authentication: from On to Off")},
		},
		{
			RuleID: "Zoom.UserGrantedAdmin", At: 40 * m, Late: true,
			Description: "nelson promoted to Admin; the record arrives LateDelay after its time",
			Operations: []plantedOperation{op(0, opMarge, "User", "Update",
				"Update User nelson@springfield.example  - User Role: from Member to Admin")},
		},
		{
			RuleID: "Zoom.SignIn.New.IP.For.Admin", At: 1 * h,
			Description: "homer (an operator) signs in from an IP he never used before",
			Activities:  []plantedActivity{signIn(0, opHomer, "198.51.100.250", "Mac", "6.2.5.49200")},
		},
		{
			RuleID: "Zoom.Billing.Subscription.Changed", At: 3 * h,
			Description: "the cloud recording storage add-on removed",
			Operations: []plantedOperation{op(0, opMarge, "Billing", "Delete",
				"Remove Add-on  - Cloud Recording Storage 1 TB")},
		},
		{
			RuleID: "Zoom.Meeting.Security.Option.Disabled", At: 6 * h,
			Description: "meetings no longer limited to authenticated participants",
			Operations: []plantedOperation{op(0, opAdmin, "Account", "Update",
				"Security  - Only authenticated meeting participants and webinar attendees can join meetings and webinars: from On to Off")},
		},
		{
			RuleID: "Zoom.SignIn.Outdated.Client", At: 9 * h,
			Description: "otto signs in with Zoom 5.16.10, just below the 5.17.0 minimum",
			Activities:  []plantedActivity{signIn(0, "otto@springfield.example", "192.0.2.44", "Android", "5.16.10.26186")},
		},
		{
			RuleID: "Zoom.PasscodeDisabled", At: 12 * h,
			Description: "another user group's PMI passcode requirement turned off",
			Operations: []plantedOperation{op(0, opHomer, "User Group", "Update",
				"Edit Group Reactor Crew  - Personal Meeting ID (PMI) Passcode: from On to Off")},
		},
	}
}

// benignLookAlikes are operation_detail texts the ordinary history uses that resemble the
// scenarios but must not raise an alert (the other direction of a switch, an upgrade, a
// description edit). history.go draws from them; rule tests should include them as negatives.
func benignLookAlikes() []plantedOperation {
	op := func(category, action, detail string) plantedOperation {
		return plantedOperation{Category: category, Action: action, Detail: detail}
	}
	return []plantedOperation{
		op("User Group", "Update", "Edit Group Springfield  - Personal Meeting ID (PMI) Passcode: from Off to On"),
		op("User", "Update", "Update User lisa@springfield.example  - User Role: from Admin to Member"),
		op("User", "Batch Update", "Change Role  - ralph@springfield.example: from Admin to Member"),
		op("Account", "Update", "Security  - Require that all meetings are secured with one security option: from Off to On"),
		op("Account", "Update", "Security  - Automatically sign users out after a specified time: from Off to On"),
		op("Account", "Update", "Sign-in Methods  - Allow users to sign in with Apple ID: from On to Off"),
		op("Account", "Update", "Security  - Require a passcode when scheduling new meetings: from Off to On"),
		op("Account", "Update", "Security  - Sign in with Two-Factor Authentication: from Off to On"),
		op("Account", "Update", "Sign-In Password Requirement  - Have at least specified length of characters: from 8 to 12"),
		op("Account", "Update", "Security  - Waiting Room: from Off to On"),
		op("Account", "Update", "Recording  - Allow cloud recording sharing: from On to Off"),
		op("Account", "Update", "Recording  - Require passcode to access shared cloud recordings: from Off to On"),
		op("Account", "Update", "In Meeting (Basic)  - Chat: from On to Off"),
		op("Account", "Update", "Quality Settings - Audio  - Receive Bitrate: from 20 to 200 - Send Bitrate: from 20 to 200"),
		op("Billing", "Update", "Subscription  - Plan: from Pro to Business"),
		op("Billing", "Add", "Add Add-on  - Large Meetings 500"),
		op("Role", "Update", "Edit Role Help Desk  - Role Description: from Tier 1 support to Tier 1 and Tier 2 support"),
		op("User", "Update", "Update User krusty@springfield.example  - User Type: from Basic to Licensed"),
		op("User", "Update", "Update User sideshow.mel@springfield.example  - User Type: from Licensed to Basic"),
	}
}
