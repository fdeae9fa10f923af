"""IdentityService: departments and employees (protobuf in → handler → protobuf out)."""

from __future__ import annotations

import grpc

from services.common.paging import next_page_token, page_window
from services.identity.handlers.channels import Channels
from services.identity.handlers.departments import Departments
from services.identity.handlers.employees import Employees
from stride.common.v1 import common_pb2
from stride.identity.v1 import identity_pb2 as pb
from stride.identity.v1 import identity_pb2_grpc


def _page(offset: int, limit: int, returned: int) -> common_pb2.PageResponse:
    return common_pb2.PageResponse(next_page_token=next_page_token(offset, limit, returned))


class IdentityServicer(identity_pb2_grpc.IdentityServiceServicer):
    def __init__(self, departments: Departments, employees: Employees, channels: Channels) -> None:
        self.departments = departments
        self.employees = employees
        self.channels = channels

    async def PutDepartmentRobot(
        self, request: pb.PutDepartmentRobotRequest, context: grpc.aio.ServicerContext
    ) -> pb.DepartmentRobot:
        return await self.channels.put_robot(request)

    async def ListDepartmentRobots(
        self, request: pb.ListDepartmentRobotsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListDepartmentRobotsResponse:
        return await self.channels.list_robots(request.department_id)

    async def DeleteDepartmentRobot(
        self, request: pb.DeleteDepartmentRobotRequest, context: grpc.aio.ServicerContext
    ) -> pb.DepartmentRobot:
        return await self.channels.delete_robot(request.department_id, request.kind)

    async def GetRobotTargets(
        self, request: pb.GetRobotTargetsRequest, context: grpc.aio.ServicerContext
    ) -> pb.RobotTargets:
        return await self.channels.targets(list(request.employee_ids))

    async def PutOrgCalendarYear(
        self, request: pb.PutOrgCalendarYearRequest, context: grpc.aio.ServicerContext
    ) -> pb.OrgCalendarYear:
        return await self.channels.put_year(request)

    async def GetOrgCalendarYear(
        self, request: pb.GetOrgCalendarYearRequest, context: grpc.aio.ServicerContext
    ) -> pb.OrgCalendarYear:
        return await self.channels.get_year(request.year)

    async def GetOrgCalendar(
        self, request: pb.GetOrgCalendarRequest, context: grpc.aio.ServicerContext
    ) -> pb.OrgCalendar:
        return await self.channels.calendar(request)

    async def PutNotificationPolicy(
        self, request: pb.NotificationPolicy, context: grpc.aio.ServicerContext
    ) -> pb.NotificationPolicy:
        return await self.channels.put_policy(request)

    async def ListTrainingCourses(
        self, request: pb.ListTrainingCoursesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListTrainingCoursesResponse:
        return await self.channels.list_courses()

    async def PutTrainingCourses(
        self, request: pb.PutTrainingCoursesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListTrainingCoursesResponse:
        return await self.channels.put_courses(request)

    async def CreateDepartment(
        self, request: pb.CreateDepartmentRequest, context: grpc.aio.ServicerContext
    ) -> pb.Department:
        return await self.departments.create(request)

    async def UpdateDepartment(
        self, request: pb.UpdateDepartmentRequest, context: grpc.aio.ServicerContext
    ) -> pb.Department:
        return await self.departments.update(request)

    async def GetDepartment(
        self, request: pb.GetDepartmentRequest, context: grpc.aio.ServicerContext
    ) -> pb.Department:
        return await self.departments.get(request.id)

    async def ListDepartments(
        self, request: pb.ListDepartmentsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListDepartmentsResponse:
        limit, offset = page_window(request.page.page_size, request.page.page_token)
        items = await self.departments.page(limit, offset, request.root_id.strip())
        return pb.ListDepartmentsResponse(departments=items, page=_page(offset, limit, len(items)))

    async def CreateEmployee(
        self, request: pb.CreateEmployeeRequest, context: grpc.aio.ServicerContext
    ) -> pb.Employee:
        return await self.employees.create(request)

    async def UpdateEmployee(
        self, request: pb.UpdateEmployeeRequest, context: grpc.aio.ServicerContext
    ) -> pb.Employee:
        return await self.employees.update(request)

    async def GetEmployee(
        self, request: pb.GetEmployeeRequest, context: grpc.aio.ServicerContext
    ) -> pb.Employee:
        return await self.employees.get(request.id)

    async def ListEmployees(
        self, request: pb.ListEmployeesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListEmployeesResponse:
        limit, offset = page_window(request.page.page_size, request.page.page_token)
        items = await self.employees.page(limit, offset, request.department_id, request.manager_id)
        return pb.ListEmployeesResponse(employees=items, page=_page(offset, limit, len(items)))

    async def ListReports(
        self, request: pb.ListReportsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListEmployeesResponse:
        limit, offset = page_window(request.page.page_size, request.page.page_token)
        items = await self.employees.reports(
            request.employee_id, transitive=request.transitive, limit=limit, offset=offset
        )
        return pb.ListEmployeesResponse(employees=items, page=_page(offset, limit, len(items)))

    async def GetReach(
        self, request: pb.GetReachRequest, context: grpc.aio.ServicerContext
    ) -> pb.OrganisationReach:
        return await self.employees.reach(request.employee_id, transitive=request.transitive)

    async def GetManagerChain(
        self, request: pb.GetManagerChainRequest, context: grpc.aio.ServicerContext
    ) -> pb.ManagerChain:
        return pb.ManagerChain(managers=await self.employees.manager_chain(request.employee_id))

    async def LookupEmployees(
        self, request: pb.LookupEmployeesRequest, context: grpc.aio.ServicerContext
    ) -> pb.LookupEmployeesResponse:
        employees = await self.employees.lookup(request.employee_numbers)
        return pb.LookupEmployeesResponse(employees=employees)
