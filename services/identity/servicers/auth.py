"""AuthService: sign-in, passwords, PINs, refresh tokens, API keys, initial passwords (at once or
as a background job)."""

from __future__ import annotations

import grpc

from services.identity.handlers.api_keys import ApiKeys
from services.identity.handlers.auth import SignIn
from services.identity.handlers.invitation_jobs import InvitationJobs
from services.identity.handlers.invitations import Invitations
from services.identity.handlers.pins import Pins
from stride.identity.v1 import auth_pb2 as pb
from stride.identity.v1 import auth_pb2_grpc


class AuthServicer(auth_pb2_grpc.AuthServiceServicer):
    def __init__(
        self,
        sign_in: SignIn,
        api_keys: ApiKeys,
        invitations: Invitations,
        invitation_jobs: InvitationJobs,
        pins: Pins,
    ) -> None:
        self.sign_in = sign_in
        self.api_keys = api_keys
        self.invitations = invitations
        self.invitation_jobs = invitation_jobs
        self.pins = pins

    async def Authenticate(
        self, request: pb.AuthenticateRequest, context: grpc.aio.ServicerContext
    ) -> pb.AuthenticateResponse:
        principal = await self.sign_in.authenticate(request.login, request.password)
        return pb.AuthenticateResponse(principal=principal)

    async def SetPassword(
        self, request: pb.SetPasswordRequest, context: grpc.aio.ServicerContext
    ) -> pb.SetPasswordResponse:
        await self.sign_in.set_password(request)
        return pb.SetPasswordResponse()

    async def SetPin(
        self, request: pb.SetPinRequest, context: grpc.aio.ServicerContext
    ) -> pb.SetPinResponse:
        await self.pins.set_pin(request)
        return pb.SetPinResponse()

    async def ResetPin(
        self, request: pb.ResetPinRequest, context: grpc.aio.ServicerContext
    ) -> pb.ResetPinResponse:
        return await self.pins.reset_pin(request.employee_id)

    async def AuthenticatePin(
        self, request: pb.AuthenticatePinRequest, context: grpc.aio.ServicerContext
    ) -> pb.AuthenticateResponse:
        principal = await self.pins.authenticate(request.employee_number, request.pin)
        return pb.AuthenticateResponse(principal=principal)

    async def IssueRefreshToken(
        self, request: pb.IssueRefreshTokenRequest, context: grpc.aio.ServicerContext
    ) -> pb.RefreshToken:
        return await self.sign_in.issue_refresh_token(request.employee_id)

    async def RotateRefreshToken(
        self, request: pb.RotateRefreshTokenRequest, context: grpc.aio.ServicerContext
    ) -> pb.RotateRefreshTokenResponse:
        principal, fresh = await self.sign_in.rotate_refresh_token(request.token)
        return pb.RotateRefreshTokenResponse(principal=principal, refresh_token=fresh)

    async def RevokeRefreshToken(
        self, request: pb.RevokeRefreshTokenRequest, context: grpc.aio.ServicerContext
    ) -> pb.RevokeRefreshTokenResponse:
        await self.sign_in.revoke_refresh_token(request.token, request.employee_id)
        return pb.RevokeRefreshTokenResponse()

    async def CreateApiKey(
        self, request: pb.CreateApiKeyRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateApiKeyResponse:
        return await self.api_keys.create(request)

    async def ListApiKeys(
        self, request: pb.ListApiKeysRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListApiKeysResponse:
        return pb.ListApiKeysResponse(api_keys=await self.api_keys.all())

    async def RevokeApiKey(
        self, request: pb.RevokeApiKeyRequest, context: grpc.aio.ServicerContext
    ) -> pb.ApiKey:
        return await self.api_keys.revoke(request.id)

    async def AuthenticateApiKey(
        self, request: pb.AuthenticateApiKeyRequest, context: grpc.aio.ServicerContext
    ) -> pb.ApiKey:
        return await self.api_keys.authenticate(request.key)

    async def IssueInitialPasswords(
        self, request: pb.IssueInitialPasswordsRequest, context: grpc.aio.ServicerContext
    ) -> pb.IssueInitialPasswordsResponse:
        return await self.invitations.issue(request)

    async def CreateInvitationJob(
        self, request: pb.CreateInvitationJobRequest, context: grpc.aio.ServicerContext
    ) -> pb.InvitationJob:
        return await self.invitation_jobs.create(request)

    async def IssueInvitationChunk(
        self, request: pb.IssueInvitationChunkRequest, context: grpc.aio.ServicerContext
    ) -> pb.IssueInvitationChunkResponse:
        return await self.invitation_jobs.issue_chunk(request.job_id, request.chunk_no)

    async def FinishInvitationJob(
        self, request: pb.FinishInvitationJobRequest, context: grpc.aio.ServicerContext
    ) -> pb.InvitationJob:
        return await self.invitation_jobs.finish(request.job_id, request.error)

    async def GetInvitationJob(
        self, request: pb.GetInvitationJobRequest, context: grpc.aio.ServicerContext
    ) -> pb.InvitationJob:
        return await self.invitation_jobs.get(request.job_id, request.requested_by)

    async def TakeInvitationSlips(
        self, request: pb.TakeInvitationSlipsRequest, context: grpc.aio.ServicerContext
    ) -> pb.IssueInitialPasswordsResponse:
        return await self.invitation_jobs.take(request.job_id, request.requested_by)
