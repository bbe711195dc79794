/**
 * Renders one step's templates into an upstream request. Values only ever fill parameter
 * values, header values and body leaves; buildRequest percent-encodes path values per segment
 * (a value cannot add `/`, `..`, `?` or `#`) and checks every type.
 */
import { GatewayError, isGatewayError } from "../../errors.js";
import { type BuiltRequest, buildRequest } from "../openapi/build-request.js";
import { renderBody } from "./body-template.js";
import type { CompiledStep, ParamTemplate } from "./compile.js";
import { parameterValue } from "./param-value.js";
import { type TemplateContext, TemplateRenderError } from "./templates.js";

// CR/LF would start a new header line (or a second request); NUL truncates in some stacks.
const HEADER_BREAKERS = /[\r\n\0]/;

function renderFailure(step: CompiledStep, field: string, err: TemplateRenderError): GatewayError {
  return new GatewayError("INVALID_ARGUMENTS", `step ${step.name}: ${field}: ${err.message}`, {
    reason: "template_render_failed",
    step: step.name,
    field,
  });
}

function render<T>(step: CompiledStep, field: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof TemplateRenderError) throw renderFailure(step, field, err);
    throw err;
  }
}

function renderParams(
  step: CompiledStep,
  kind: string,
  list: readonly ParamTemplate[],
  ctx: TemplateContext,
) {
  const out: { [name: string]: unknown } = {};
  for (const p of list) {
    const text = render(step, `${kind}.${p.name}`, () => p.template.render(ctx));
    const value = parameterValue(text, p.param);
    if (value !== undefined) out[p.name] = value;
  }
  return out;
}

function renderHeaders(step: CompiledStep, ctx: TemplateContext) {
  const out: { [name: string]: string } = {};
  for (const h of step.headers) {
    const text = render(step, `headers.${h.name}`, () => h.template.render(ctx));
    if (HEADER_BREAKERS.test(text)) {
      throw new GatewayError(
        "INVALID_ARGUMENTS",
        `step ${step.name}: header ${h.name} would contain CR, LF or NUL`,
        {
          reason: "bad_header_value",
          step: step.name,
          header: h.name,
        },
      );
    }
    out[h.name] = text;
  }
  return out;
}

/** The step's request, before credentials are added (they go on at send time). */
export function prepareRequest(step: CompiledStep, ctx: TemplateContext, baseUrl: string): BuiltRequest {
  const pathParams = renderParams(step, "path_params", step.pathParams, ctx);
  const query = renderParams(step, "query_params", step.queryParams, ctx);
  const headers = renderHeaders(step, ctx);
  const template = step.body;
  const body = template === null ? undefined : render(step, "body_template", () => renderBody(template, ctx));
  try {
    return buildRequest(step.operation, { pathParams, query, headers, body }, baseUrl);
  } catch (err) {
    if (isGatewayError(err))
      throw new GatewayError(err.code, `step ${step.name}: ${err.message}`, {
        ...err.details,
        step: step.name,
      });
    throw err;
  }
}
