from django.urls import path

from ..urls import through_door
from . import views

app_name = "fhir"

urlpatterns = [
    path("metadata", views.MetadataView.as_view(), name="metadata"),
    path("Patient", through_door(views.PatientSearchView.as_view()), name="patient-search"),
    path("Patient/<str:id>", through_door(views.PatientReadView.as_view()), name="patient"),
    path("RelatedPerson", through_door(views.RelatedPersonSearchView.as_view()), name="related-person"),
    path("EpisodeOfCare", through_door(views.EpisodeOfCareSearchView.as_view()), name="episode-of-care"),
    path("Organization/<str:id>", views.OrganizationReadView.as_view(), name="organization"),
]
