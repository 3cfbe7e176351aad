/**
 * The name-resolution building block: how service invocation finds another app by its id.
 *
 * Dapr configures name resolution in a `Configuration` resource (`spec.nameResolution`); mecha
 * takes it as a Component (`nameresolution.static`, `nameresolution.cloudflare.servicebindings`)
 * so that it loads from the resources folder like every other component. Several may be
 * configured: they are asked in the resources folder's order, and the first that knows the app
 * id wins.
 */

/** One app as a name-resolution component found it. */
export interface AppEndpoint {
  /** Where the app is, for error messages: a URL without credentials, or a binding's name. */
  readonly address: string;
  /**
   * Sends a request to the app and returns its answer as is (redirects included). Only the
   * request's method, path, query, headers and body count: its origin is a placeholder that the
   * component replaces with the app's address.
   */
  fetch(request: Request): Promise<Response>;
}

/** What a name-resolution component implements. */
export interface NameResolutionComponent {
  /** The component's `spec.type`, e.g. `nameresolution.static`. */
  readonly type: string;
  /** How to reach `appId`, or `undefined` when this component does not know it. */
  resolve(appId: string): Promise<AppEndpoint | undefined>;
  close(): Promise<void>;
}
