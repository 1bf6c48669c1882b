import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { mapDatabaseError } from '../db/errors.ts';
import { AppError, ERRORS } from './errors.ts';
import { toFieldErrors } from './validation.ts';

/** Any thrown thing → the AppError a client should see. 5xx never carries internal text. */
export function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  const e = error as FastifyError & { validationContext?: string; status?: number };
  if (e?.validation) {
    const context = e.validationContext ?? 'body';
    const errors = toFieldErrors(e.validation as never, context);
    // A malformed id in the path names nothing that could exist.
    if (context === 'params') return ERRORS.notFound('resource');
    return ERRORS.validation(errors);
  }
  switch (e?.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_TYPE':
      return ERRORS.unsupportedMediaType(String((e as { contentType?: string }).contentType ?? 'unknown'));
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return ERRORS.payloadTooLarge();
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return ERRORS.malformedJson('The body is empty; send a JSON object.');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return ERRORS.malformedJson('The body is not valid JSON.');
  }
  const mapped = mapDatabaseError(error);
  if (mapped) return mapped;
  const status = e?.statusCode ?? e?.status;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    if (error instanceof SyntaxError || status === 400)
      return ERRORS.malformedJson('The body is not valid JSON.');
    if (status === 413) return ERRORS.payloadTooLarge();
    if (status === 415) return ERRORS.unsupportedMediaType('unknown');
    return new AppError(status, 'bad_request', 'Bad request', 'The request could not be processed.');
  }
  return ERRORS.internal();
}

export function problemBody(error: AppError, requestId: string) {
  return {
    type: `urn:contacts:problem:${error.code}`,
    title: error.title,
    status: error.status,
    detail: error.message,
    code: error.code,
    request_id: requestId,
    ...(error.errors.length ? { errors: error.errors } : {}),
  };
}

export function sendProblem(reply: FastifyReply, request: FastifyRequest, error: AppError) {
  return reply
    .code(error.status)
    .headers(error.headers)
    .type('application/problem+json; charset=utf-8')
    .serializer(JSON.stringify)
    .send(problemBody(error, request.id));
}

export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error, request, reply) => {
    const appError = toAppError(error);
    if (appError.status >= 500) {
      request.log.error({ err: error }, 'request failed');
    }
    return sendProblem(reply, request, appError);
  });
  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, request, ERRORS.routeNotFound(request.method, request.url.split('?')[0] ?? '')),
  );
}
