import { Type } from 'typebox';
import { CustomerIdParams } from '../customers/customers.schema.ts';
import type { App, AppDeps } from '../http/deps.ts';
import { etagOf, parseIfMatch, withEtag } from '../http/etag.ts';
import { runIdempotent, sendOutcome } from '../http/idempotency.ts';
import { IdParams, problems } from '../http/schemas.ts';
import { ChannelCreate, ChannelList, ChannelListQuery, ChannelPatch, ChannelRef } from './channels.schema.ts';
import {
  createChannel,
  deleteChannel,
  getChannel,
  listChannels,
  toChannel,
  updateChannel,
} from './channels.service.ts';

const tags = ['channels'];

export function channelRoutes(app: App, { db, config }: AppDeps): void {
  app.post(
    '/v1/customers/:customer_id/channels',
    {
      config: { scope: 'contacts:write' },
      schema: {
        operationId: 'createChannel',
        tags,
        summary: 'Add a channel (email, phone, social handle…) to a customer',
        description: 'is_default=true clears the previous default of the same type. Honours Idempotency-Key.',
        params: CustomerIdParams,
        body: ChannelCreate,
        response: { 201: ChannelRef, ...problems(400, 403, 404, 409, 415, 422) },
      },
    },
    async (request, reply) => {
      const outcome = await runIdempotent(
        db,
        request.ctx,
        request,
        config.idempotencyTtlHours,
        async (trx) => {
          const row = await createChannel(trx, request.ctx, request.params.customer_id, request.body);
          return {
            status: 201,
            body: toChannel(row),
            headers: { etag: etagOf(row.version), location: `/v1/channels/${row.id}` },
          };
        },
      );
      return sendOutcome(reply, outcome);
    },
  );

  app.get(
    '/v1/customers/:customer_id/channels',
    {
      config: { scope: 'contacts:read' },
      schema: {
        operationId: 'listChannels',
        tags,
        summary: "List a customer's channels in display order",
        params: CustomerIdParams,
        querystring: ChannelListQuery,
        response: { 200: ChannelList, ...problems(400, 403, 404, 422) },
      },
    },
    async (request) => listChannels(db, request.ctx, request.params.customer_id, request.query),
  );

  app.get(
    '/v1/channels/:id',
    {
      config: { scope: 'contacts:read' },
      schema: {
        operationId: 'getChannel',
        tags,
        summary: 'Get a channel',
        params: IdParams,
        response: { 200: ChannelRef, 304: Type.Null(), ...problems(403, 404, 422) },
      },
    },
    async (request, reply) => {
      const row = await getChannel(db, request.ctx, request.params.id);
      if (withEtag(request, reply, row.version)) return reply;
      return toChannel(row);
    },
  );

  app.patch(
    '/v1/channels/:id',
    {
      config: { scope: 'contacts:write' },
      schema: {
        operationId: 'updateChannel',
        tags,
        summary: 'Update a channel (partial)',
        params: IdParams,
        body: ChannelPatch,
        response: { 200: ChannelRef, ...problems(400, 403, 404, 409, 412, 415, 422) },
      },
    },
    async (request, reply) => {
      const row = await updateChannel(
        db,
        request.ctx,
        request.params.id,
        request.body,
        parseIfMatch(request),
      );
      withEtag(request, reply, row.version);
      return toChannel(row);
    },
  );

  app.delete(
    '/v1/channels/:id',
    {
      config: { scope: 'contacts:write' },
      schema: {
        operationId: 'deleteChannel',
        tags,
        summary: 'Delete a channel',
        params: IdParams,
        response: { 204: Type.Null(), ...problems(400, 403, 404, 412, 422) },
      },
    },
    async (request, reply) => {
      await deleteChannel(db, request.ctx, request.params.id, parseIfMatch(request));
      return reply.code(204).send(null);
    },
  );
}
