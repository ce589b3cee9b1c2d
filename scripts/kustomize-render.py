#!/usr/bin/env python3
"""Render the subset of kustomize that daemonset/ uses, for machines without kubectl.

`kubectl kustomize DIR` is the real renderer and tests/manifests.rs prefers it; this script
is the fallback (no kustomize package exists on the registries CI can reach), and the test
checks that both give the same objects whenever both are present.

Supported: resources (files, and directories holding a kustomization), components
(kind: Component), configMapGenerator (files, literals, options.labels /
disableNameSuffixHash, namespace), namespace, images (name, newName, newTag, digest).
Anything else in a kustomization is an error, never silently ignored.

Usage:
  scripts/kustomize-render.py DIR           # multi-document YAML on stdout
  scripts/kustomize-render.py --json DIR    # JSON list of the objects
  scripts/kustomize-render.py --parse FILE  # JSON list of the documents of a YAML file
"""
import json
import os
import sys

import yaml

KNOWN = {"apiVersion", "kind", "resources", "components", "configMapGenerator",
         "namespace", "images", "generatorOptions"}
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "PriorityClass",
                  "CustomResourceDefinition", "StorageClass", "PersistentVolume"}


def load_docs(path):
    with open(path, encoding="utf-8") as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def kustomization_file(d):
    for name in ("kustomization.yaml", "kustomization.yml", "Kustomization"):
        p = os.path.join(d, name)
        if os.path.isfile(p):
            return p
    raise SystemExit(f"kustomize-render: no kustomization file in {d}")


def config_map(gen, base_dir, default_opts):
    opts = dict(default_opts)
    opts.update(gen.get("options") or {})
    unknown = set(gen) - {"name", "namespace", "files", "literals", "options", "behavior"}
    if unknown or gen.get("behavior", "create") != "create":
        raise SystemExit(f"kustomize-render: unsupported configMapGenerator keys {sorted(unknown)}")
    if not opts.get("disableNameSuffixHash"):
        raise SystemExit("kustomize-render: name suffix hashes are not supported; "
                         "set options.disableNameSuffixHash")
    data = {}
    for spec in gen.get("files") or []:
        key, _, rel = spec.partition("=") if "=" in spec else (os.path.basename(spec), "", spec)
        with open(os.path.join(base_dir, rel), encoding="utf-8") as f:
            data[key] = f.read()
    for lit in gen.get("literals") or []:
        key, _, value = lit.partition("=")
        data[key] = value
    meta = {"name": gen["name"]}
    if gen.get("namespace"):
        meta["namespace"] = gen["namespace"]
    if opts.get("labels"):
        meta["labels"] = dict(opts["labels"])
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data}


def containers(obj):
    spec = obj.get("spec") or {}
    pod = spec.get("template", {}).get("spec") if "template" in spec else spec
    if not isinstance(pod, dict):
        return []
    return (pod.get("initContainers") or []) + (pod.get("containers") or [])


def apply_images(objs, images):
    for img in images:
        for obj in objs:
            for c in containers(obj):
                ref = c.get("image", "")
                name = ref.split("@")[0]
                # strip a tag, not a registry port
                if ":" in name.rsplit("/", 1)[-1]:
                    name = name.rsplit(":", 1)[0]
                if name != img["name"]:
                    continue
                new = img.get("newName", name)
                if img.get("digest"):
                    new += "@" + img["digest"]
                elif img.get("newTag"):
                    new += ":" + img["newTag"]
                else:
                    new = ref.replace(name, new, 1)
                c["image"] = new


def render(d, expect_kind="Kustomization"):
    kpath = kustomization_file(d)
    with open(kpath, encoding="utf-8") as f:
        k = yaml.safe_load(f) or {}
    kind = k.get("kind", "Kustomization")
    if kind != expect_kind:
        raise SystemExit(f"kustomize-render: {kpath} is a {kind}, expected {expect_kind}")
    unknown = set(k) - KNOWN
    if unknown:
        raise SystemExit(f"kustomize-render: {kpath}: unsupported fields {sorted(unknown)}")
    objs = []
    for res in k.get("resources") or []:
        p = os.path.normpath(os.path.join(d, res))
        objs.extend(render(p) if os.path.isdir(p) else load_docs(p))
    gen_opts = k.get("generatorOptions") or {}
    for gen in k.get("configMapGenerator") or []:
        objs.append(config_map(gen, d, gen_opts))
    for comp in k.get("components") or []:
        objs.extend(render(os.path.normpath(os.path.join(d, comp)), "Component"))
    if k.get("namespace"):
        for obj in objs:
            if obj.get("kind") not in CLUSTER_SCOPED:
                obj.setdefault("metadata", {})["namespace"] = k["namespace"]
    apply_images(objs, k.get("images") or [])
    return objs


def main(argv):
    if len(argv) == 3 and argv[1] == "--parse":
        json.dump(load_docs(argv[2]), sys.stdout)
    elif len(argv) == 3 and argv[1] == "--json":
        json.dump(render(argv[2]), sys.stdout)
    elif len(argv) == 2 and not argv[1].startswith("-"):
        yaml.safe_dump_all(render(argv[1]), sys.stdout, sort_keys=True, explicit_start=True)
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
