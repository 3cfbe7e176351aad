/**
 * The errors of a build that are neither a component's nor a function's: the bundler's and the
 * platform config file's. The CLI prints their message without a stack.
 */

/** A build failed for a reason its message explains. */
export class BuildError extends Error {
  constructor(message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = new.target.name;
  }
}

/** esbuild could not bundle the app; `messages` are its errors, one line each with the place. */
export class BundleError extends BuildError {
  readonly messages: readonly string[];

  constructor(messages: readonly string[], cause?: unknown) {
    super(`bundling failed:\n${messages.map((m) => `  ${m}`).join("\n")}`, cause);
    this.messages = messages;
  }
}

/** The platform's config file (wrangler.toml) cannot be read or is not valid. */
export class PlatformConfigError extends BuildError {}
