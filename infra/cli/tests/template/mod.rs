//! Reads infra/template.yaml as CloudFormation does, short tags (`!Sub`, `!Ref`) included,
//! and lists the operations of an API's OpenAPI body.
#![allow(dead_code)] // each test binary uses a different part of this

use saphyr::{LoadableYamlNode, Yaml};

pub const TEMPLATE: &str = include_str!("../../../template.yaml");

pub fn parse(text: &str) -> Yaml<'_> {
    Yaml::load_from_str(text)
        .expect("the template is YAML")
        .into_iter()
        .next()
        .expect("the template has a document")
}

/// The node at `path` below `node` (mapping keys), if every step exists.
pub fn at<'a, 'input>(node: &'a Yaml<'input>, path: &[&str]) -> Option<&'a Yaml<'input>> {
    path.iter()
        .try_fold(node, |node, key| untagged(node).as_mapping_get(key))
}

/// The node inside a tag (`!If [...]` is a tagged sequence).
pub fn untagged<'a, 'input>(node: &'a Yaml<'input>) -> &'a Yaml<'input> {
    match node {
        Yaml::Tagged(_, inner) => inner,
        other => other,
    }
}

/// A scalar as written, with its tag: `GET`, `30`, `!Ref AuthorizerCacheSeconds`,
/// `!Sub ${BackendUrl}/orders`. None for a collection or a missing node.
pub fn text(node: Option<&Yaml>) -> Option<String> {
    match node? {
        Yaml::Tagged(tag, inner) => Some(format!(
            "{}{} {}",
            tag.handle,
            tag.suffix,
            text(Some(inner))?
        )),
        Yaml::Value(scalar) => Some(match scalar {
            saphyr::Scalar::String(s) => s.to_string(),
            saphyr::Scalar::Integer(n) => n.to_string(),
            saphyr::Scalar::Boolean(b) => b.to_string(),
            saphyr::Scalar::FloatingPoint(f) => f.to_string(),
            saphyr::Scalar::Null => "null".into(),
        }),
        Yaml::Representation(raw, _, _) => Some(raw.to_string()),
        _ => None,
    }
}

/// The OpenAPI methods API Gateway reads, and the method name the route table uses.
const METHODS: [(&str, &str); 8] = [
    ("get", "GET"),
    ("post", "POST"),
    ("put", "PUT"),
    ("patch", "PATCH"),
    ("delete", "DELETE"),
    ("head", "HEAD"),
    ("options", "OPTIONS"),
    ("x-amazon-apigateway-any-method", "ANY"),
];

/// One method of one path of an OpenAPI body.
pub struct Operation<'a, 'input> {
    /// `GET`, ..., or `ANY`.
    pub method: String,
    pub path: String,
    pub node: &'a Yaml<'input>,
}

impl Operation<'_, '_> {
    /// `GET /orders/{id}`, as the route table names routes.
    pub fn name(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    /// The security schemes it requires; None when it names none (no authorizer).
    pub fn authorizers(&self) -> Option<Vec<String>> {
        let requirements = untagged(at(self.node, &["security"])?).as_vec()?;
        let mut names = Vec::new();
        for requirement in requirements {
            let mapping = untagged(requirement).as_mapping()?;
            names.extend(mapping.keys().filter_map(|key| text(Some(key))));
        }
        Some(names)
    }

    /// A field of its `x-amazon-apigateway-integration`, as written.
    pub fn integration(&self, field: &str) -> Option<String> {
        text(at(self.node, &["x-amazon-apigateway-integration", field]))
    }

    /// A request parameter mapping of its integration, as written.
    pub fn mapped(&self, parameter: &str) -> Option<String> {
        let parameters = at(
            self.node,
            &["x-amazon-apigateway-integration", "requestParameters"],
        )?;
        text(untagged(parameters).as_mapping_get(parameter))
    }
}

/// Every operation of the OpenAPI body of the API resource `api`; Err names what is missing
/// or unknown (a method key API Gateway would not read).
pub fn operations<'a, 'input>(
    template: &'a Yaml<'input>,
    api: &str,
) -> Result<Vec<Operation<'a, 'input>>, String> {
    let paths = at(
        template,
        &["Resources", api, "Properties", "DefinitionBody", "paths"],
    )
    .and_then(|paths| untagged(paths).as_mapping())
    .ok_or_else(|| format!("{api} has no DefinitionBody.paths"))?;
    let mut operations = Vec::new();
    for (path, methods) in paths {
        let path = text(Some(path)).ok_or("a path key is not a string")?;
        let methods = untagged(methods)
            .as_mapping()
            .ok_or_else(|| format!("{api} {path} is not a mapping"))?;
        for (key, node) in methods {
            let key = text(Some(key)).unwrap_or_default();
            if key == "parameters" {
                continue;
            }
            let Some((_, method)) = METHODS.iter().find(|(openapi, _)| *openapi == key) else {
                return Err(format!("{api} {path} has an unknown method key '{key}'"));
            };
            operations.push(Operation {
                method: (*method).to_owned(),
                path: path.clone(),
                node,
            });
        }
    }
    Ok(operations)
}

/// Every resource of the template: logical id and node.
pub fn resources<'a, 'input>(template: &'a Yaml<'input>) -> Vec<(String, &'a Yaml<'input>)> {
    at(template, &["Resources"])
        .and_then(|resources| untagged(resources).as_mapping())
        .map(|resources| {
            resources
                .iter()
                .filter_map(|(name, node)| Some((text(Some(name))?, node)))
                .collect()
        })
        .unwrap_or_default()
}

/// The resources of one CloudFormation type.
pub fn resources_of<'a, 'input>(
    template: &'a Yaml<'input>,
    kind: &str,
) -> Vec<(String, &'a Yaml<'input>)> {
    resources(template)
        .into_iter()
        .filter(|(_, node)| text(at(node, &["Type"])).as_deref() == Some(kind))
        .collect()
}

/// The items of a sequence node (inside a tag too); empty for anything else.
pub fn items<'a, 'input>(node: Option<&'a Yaml<'input>>) -> Vec<&'a Yaml<'input>> {
    node.and_then(|node| untagged(node).as_vec())
        .map(|items| items.iter().collect())
        .unwrap_or_default()
}

/// The keys of a mapping node, as written.
pub fn keys(node: Option<&Yaml>) -> Vec<String> {
    node.and_then(|node| untagged(node).as_mapping())
        .map(|mapping| mapping.keys().filter_map(|key| text(Some(key))).collect())
        .unwrap_or_default()
}
