/**
 * Component metadata a build must know (binding names, bucket names, ids), read at build time.
 * Such a field is a plain `value` or an `envRef` read from the build's environment; a
 * `secretKeyRef` is an error, since the value would end up in wrangler.toml or a template.
 */
import { ComponentMetadata } from "../config/metadata.ts";
import type { ComponentSpec } from "../config/types.ts";
import { ComponentConfigError } from "../errors.ts";

/**
 * The given fields of a component's metadata, resolved for the build, with the typed getters
 * and the file/component/field errors of {@link ComponentMetadata}.
 */
export function buildTimeMetadata(spec: ComponentSpec, fields: readonly string[], env: Readonly<Record<string, string | undefined>>): ComponentMetadata {
  const values: Record<string, string> = {};
  for (const entry of spec.metadata) {
    if (!fields.includes(entry.name)) continue;
    const where = { file: spec.file, component: spec.name, field: entry.name };
    if (entry.secretKeyRef) {
      throw new ComponentConfigError("is read by mecha build to write the platform's config, so it cannot be a secretKeyRef; use a value or an envRef", where);
    }
    if (entry.envRef !== undefined) {
      const value = env[entry.envRef];
      if (value === undefined) throw new ComponentConfigError(`refers to the environment variable ${entry.envRef}, which is not set for the build`, where);
      values[entry.name] = value;
    } else if (entry.value !== undefined) {
      values[entry.name] = entry.value;
    }
  }
  return new ComponentMetadata(values, spec.name, spec.file);
}

/** A binding name as wrangler takes it: a JavaScript identifier. */
export function bindingName(metadata: ComponentMetadata, field: string, fallback: string): string {
  const name = metadata.string(field, fallback);
  if (!/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(name)) {
    throw metadata.error(field, `must be a JavaScript identifier (letters, digits, "_" and "$"; not starting with a digit), got "${name}"`);
  }
  return name;
}
