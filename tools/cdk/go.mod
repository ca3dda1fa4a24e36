// This module only fences off node_modules (the pinned CDK CLI from npm), whose template
// .go files would otherwise be part of the product module.
module github.com/zoomwatch/zoomwatch/tools/cdk

go 1.26.0
